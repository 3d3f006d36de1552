//! Building the application: open the store, bind the listener, and run until told to stop. Tests build it
//! with port 0 and a temporary database; `main` builds it from the command line.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::endpoints::pattern::PathPattern;
use crate::endpoints::spec::EndpointSpec;
use crate::endpoints::{Endpoint, Endpoints, Source};
use crate::forward::Forwarder;
use crate::forward::target::TargetRules;
use crate::http::AppState;
use crate::live;
use crate::profiles::Profiles;
use crate::profiles::set::{Defined, ProfileSource};
use crate::profiles::spec::{Origin, ProfileSpec};
use crate::server;
use crate::store::{Location, OpenError, Store};

/// Why hookscope could not start; each reads as one sentence.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot listen on {addr}: {}", describe_bind_error(.source))]
    Bind { addr: SocketAddr, source: std::io::Error },
    #[error(transparent)]
    Store(#[from] OpenError),
    #[error("{0}")]
    Endpoints(String),
}

fn describe_bind_error(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::AddrInUse => "the address is already in use (is another hookscope running?)".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied (ports below 1024 need privileges)".into(),
        std::io::ErrorKind::AddrNotAvailable => "the address is not one of this machine's".into(),
        _ => error.to_string(),
    }
}

/// A bound, ready-to-run hookscope.
pub struct Application {
    listener: TcpListener,
    state: AppState,
}

impl Application {
    /// Opens the store and binds the listener.
    pub async fn build(config: Config) -> Result<Application, StartupError> {
        let store = Store::open(&config.store)?;
        for warning in config.warnings().iter().chain(over_size_limit(&config).iter()) {
            tracing::warn!("{warning}");
        }
        let listener = match TcpListener::bind(config.listen).await {
            Ok(listener) => listener,
            Err(source) => {
                store.close().await;
                return Err(StartupError::Bind {
                    addr: config.listen,
                    source,
                });
            }
        };
        let endpoints = match load_endpoints(&config, &store).await {
            Ok(endpoints) => endpoints,
            Err(error) => {
                store.close().await;
                return Err(error);
            }
        };
        let bound = listener.local_addr().unwrap_or(config.listen);
        let advertised_origin = crate::http::origin::advertised(config.public_url.as_deref(), bound).map(Arc::from);
        let endpoints = Arc::new(endpoints);
        let profiles = match load_profiles(&config, &store).await {
            Ok(profiles) => Arc::new(profiles),
            Err(error) => {
                store.close().await;
                return Err(error);
            }
        };
        let shutdown = CancellationToken::new();
        let forwarder = Forwarder::new(
            store.clone(),
            Arc::clone(&endpoints),
            TargetRules::new(config.allow_forward.clone(), Some(bound)),
            shutdown.clone(),
        );
        if let Err(error) = forwarder.resume().await {
            store.close().await;
            return Err(StartupError::Endpoints(format!(
                "the outbox could not be read: {error}"
            )));
        }
        Ok(Application {
            listener,
            state: AppState {
                endpoints,
                endpoint_changes: Arc::default(),
                profiles,
                forwarder,
                advertised_origin,
                live: live::Hub::start(&store),
                store,
                config: Arc::new(config),
                shutdown,
                capture_log: Arc::default(),
                refusals: Arc::default(),
            },
        })
    }

    /// The address actually bound (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        // A bound listener always has a local address; fall back to the configured one all the same.
        self.listener.local_addr().unwrap_or(self.state.config.listen)
    }

    /// Where providers reach hookscope, when it is not the address it listens on (see `http::origin`).
    pub fn advertised_origin(&self) -> Option<String> {
        self.state.advertised_origin.as_deref().map(str::to_owned)
    }

    /// The inspector's access token, when one is required.
    pub fn access_token(&self) -> Option<String> {
        self.state.config.access.token.clone()
    }

    /// The store, for callers that want to look at what was captured.
    pub fn store(&self) -> Store {
        self.state.store.clone()
    }

    /// Serves until `shutdown` completes, then drains connections and closes the store.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) {
        let store = self.state.store.clone();
        if let Some(file) = &self.state.config.file {
            tokio::spawn(crate::config::watch::watch(
                file.path.clone(),
                Arc::clone(&self.state.endpoints),
                Arc::clone(&self.state.profiles),
                Arc::clone(&self.state.endpoint_changes),
                self.state.shutdown.clone(),
            ));
        }
        let forwarder = self.state.forwarder.clone();
        server::run(self.listener, self.state, shutdown).await;
        forwarder.stopped().await;
        store.close().await;
    }
}

/// The endpoints: those stored through the API, with their ids, then the configuration file's and the `--respond`
/// ones (named `respond-1`, `respond-2`, ... in flag order), numbered after them. A name used twice (a file's
/// endpoint named as a stored one) stops start-up with one sentence.
async fn load_endpoints(config: &Config, store: &Store) -> Result<Endpoints, StartupError> {
    let mut list: Vec<Endpoint> = Vec::new();
    for (id, text) in store
        .endpoints()
        .await
        .map_err(|error| StartupError::Endpoints(error.to_string()))?
    {
        let built = serde_json::from_str::<EndpointSpec>(&text)
            .map_err(|error| error.to_string())
            .and_then(|spec| spec.build(Source::Api).map_err(|error| error.to_string()));
        match built {
            Ok(mut endpoint) => {
                endpoint.id = id;
                list.push(endpoint);
            }
            Err(error) => tracing::error!(id, %error, "a stored endpoint could not be read, and is left out"),
        }
    }
    let mut next_id = list.iter().map(|endpoint| endpoint.id).max().unwrap_or(0) + 1;
    let from_file = config.file.iter().flat_map(|file| {
        file.endpoints
            .iter()
            .map(move |spec| (spec, file.path.display().to_string()))
    });
    for (spec, path) in from_file {
        if list.iter().any(|endpoint| endpoint.name == spec.name) {
            return Err(StartupError::Endpoints(format!(
                "{path}: an endpoint is named {}, as an endpoint made through the API is; rename one of them",
                spec.name
            )));
        }
        // Checked when the file was read, so this does not fail; should it, the endpoint is left out and said so.
        match spec.build(Source::File) {
            Ok(mut endpoint) => {
                endpoint.id = next_id;
                next_id += 1;
                list.push(endpoint);
            }
            Err(error) => tracing::error!(endpoint = %spec.name, %error, "an endpoint of the file was left out"),
        }
    }
    if let Some(forwarding) = &config.forward_to {
        let mut endpoint = Endpoint::new(
            crate::endpoints::FORWARD_TO_NAME.to_owned(),
            PathPattern::parse("/**").map_err(|error| StartupError::Endpoints(error.to_string()))?,
            vec![crate::endpoints::steps::Step::default()],
            Source::Flag,
        );
        endpoint.forward = Some(forwarding.clone());
        endpoint.id = next_id;
        next_id += 1;
        list.push(endpoint);
    }
    // Their names are free: the API refuses them, and reading the configuration refused a file that takes one.
    for (index, (path, steps)) in config.respond.iter().enumerate() {
        let mut endpoint = Endpoint::new(
            crate::endpoints::flag_name(index + 1),
            path.clone(),
            steps.clone(),
            Source::Flag,
        );
        endpoint.id = next_id;
        next_id += 1;
        list.push(endpoint);
    }
    Ok(Endpoints::new(list))
}

/// The custom profiles: the configuration file's, in order, then those made through the API, in the order made. A
/// name used twice stops start-up with one sentence.
async fn load_profiles(config: &Config, store: &Store) -> Result<Profiles, StartupError> {
    let mut list: Vec<Defined> = Vec::new();
    if let Some(file) = &config.file {
        let folder = file.path.parent().unwrap_or(std::path::Path::new("."));
        for spec in &file.profiles {
            // Checked when the file was read, so this does not fail; should it, the profile is left out and said so.
            match spec.build(Origin::File(folder)) {
                Ok(profile) => list.push(Defined {
                    profile: Arc::new(profile),
                    spec: spec.clone(),
                    source: ProfileSource::File,
                }),
                Err(error) => tracing::error!(profile = %spec.name, %error, "a profile of the file was left out"),
            }
        }
    }
    for text in store
        .profiles()
        .await
        .map_err(|error| StartupError::Endpoints(error.to_string()))?
    {
        let built = serde_json::from_str::<ProfileSpec>(&text)
            .map_err(|error| error.to_string())
            .and_then(|spec| {
                spec.build(Origin::Api)
                    .map(|profile| (spec, profile))
                    .map_err(|error| error.to_string())
            });
        match built {
            Ok((spec, profile)) => {
                if list.iter().any(|defined| defined.profile.name == spec.name) {
                    return Err(StartupError::Endpoints(format!(
                        "a profile of the configuration file is named {}, as one made through the API is; rename one of them",
                        spec.name
                    )));
                }
                list.push(Defined {
                    profile: Arc::new(profile),
                    spec,
                    source: ProfileSource::Api,
                });
            }
            Err(error) => tracing::error!(%error, "a stored profile could not be read, and is left out"),
        }
    }
    Ok(Profiles::new(list))
}

/// A sentence when the database is already larger than `--max-db-size`: every capture is refused until requests are
/// deleted, which the page does.
fn over_size_limit(config: &Config) -> Option<String> {
    let (Location::File(path), Some(limit)) = (&config.store.location, config.store.max_bytes) else {
        return None;
    };
    let size = std::fs::metadata(path).ok()?.len();
    (size > limit).then(|| {
        format!(
            "{} is {size} bytes, over --max-db-size ({limit} bytes): captures are answered 507 until requests are \
             deleted (on the page, or DELETE /_/api/requests)",
            path.display()
        )
    })
}
