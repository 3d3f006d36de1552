//! Edits of the configuration file take effect without a restart. The file is looked at every second (its size and
//! modification time; no watcher to set up, and the same on every platform); a changed file is read and checked
//! again. A good edit replaces the file's endpoints: one whose fields did not change keeps its place in its steps,
//! one that changed starts again, and each keeps its id by name; the file's custom profiles are replaced. A broken edit changes nothing, and the log says why.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tokio_util::sync::CancellationToken;

use super::file;
use crate::endpoints::{Endpoint, Endpoints, Source};
use crate::profiles::Profiles;
use crate::profiles::set::{Defined, ProfileSource};
use crate::profiles::spec::Origin;

/// How often the file is looked at.
const EVERY: Duration = Duration::from_secs(1);

/// Watches `path` until `shutdown`, applying each good edit to `endpoints`, one change at a time with the API's
/// (`changes`), so that an edit and an API change cannot both take one name.
pub async fn watch(
    path: PathBuf,
    endpoints: Arc<Endpoints>,
    profiles: Arc<Profiles>,
    changes: Arc<tokio::sync::Mutex<()>>,
    shutdown: CancellationToken,
) {
    let mut seen = stamp(&path);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(EVERY) => {}
        }
        let now = stamp(&path);
        if now == seen {
            continue;
        }
        seen = now;
        let loaded = tokio::task::spawn_blocking({
            let path = path.clone();
            move || file::load(&path)
        })
        .await;
        match loaded {
            Ok(Ok(file)) => {
                let applied = {
                    let _changing = changes.lock().await;
                    // Both parts are checked before either changes: a broken edit changes nothing.
                    prepare_profiles(&profiles, &file).and_then(|fresh| {
                        let count = apply(&endpoints, &file)?;
                        install_profiles(&profiles, fresh);
                        Ok(count)
                    })
                };
                log_applied(&path, applied);
            }
            Ok(Err(error)) => tracing::warn!("the edit was not applied: {error}; the previous endpoints stay"),
            Err(error) => tracing::warn!(%error, "the configuration file could not be read again"),
        }
    }
}

fn log_applied(path: &std::path::Path, applied: Result<usize, String>) {
    match applied {
        Ok(count) => tracing::info!(file = %path.display(), endpoints = count, "configuration file applied"),
        Err(reason) => {
            tracing::warn!(file = %path.display(), "the edit was not applied: {reason}; the previous endpoints stay")
        }
    }
}

/// The file's size and modification time, to tell an edit; `None` while it cannot be read.
fn stamp(path: &std::path::Path) -> Option<(u64, SystemTime)> {
    let metadata = std::fs::metadata(path).ok()?;
    Some((metadata.len(), metadata.modified().ok()?))
}

/// The file's custom profiles, built, or why they cannot replace the current ones.
pub fn prepare_profiles(profiles: &Profiles, file: &file::ConfigFile) -> Result<Vec<Arc<Defined>>, String> {
    let current = profiles.snapshot();
    let folder = file.path.parent().unwrap_or(std::path::Path::new("."));
    let mut fresh = Vec::with_capacity(file.profiles.len());
    for spec in &file.profiles {
        if current
            .iter()
            .any(|defined| defined.spec.name == spec.name && defined.source != ProfileSource::File)
        {
            return Err(format!(
                "a profile named {} is already defined through the API",
                spec.name
            ));
        }
        let profile = spec
            .build(Origin::File(folder))
            .map_err(|error| format!("profile {}: {error}", spec.name))?;
        fresh.push(Arc::new(Defined {
            profile: Arc::new(profile),
            spec: spec.clone(),
            source: ProfileSource::File,
        }));
    }
    Ok(fresh)
}

/// Replaces the file's custom profiles by `fresh`, ahead of the API's, in the file's order.
pub fn install_profiles(profiles: &Profiles, mut fresh: Vec<Arc<Defined>>) {
    profiles.change(|list| {
        list.retain(|defined| defined.source != ProfileSource::File);
        fresh.append(list);
        *list = fresh;
    });
}

/// Replaces the file's endpoints by the file's new ones; returns how many there are, or why none changed.
pub fn apply(endpoints: &Endpoints, file: &file::ConfigFile) -> Result<usize, String> {
    let current = endpoints.snapshot();
    for spec in &file.endpoints {
        if current
            .iter()
            .any(|endpoint| endpoint.name == spec.name && endpoint.source != Source::File)
        {
            return Err(format!(
                "an endpoint named {} is already defined elsewhere (the API or --respond)",
                spec.name
            ));
        }
    }
    let mut fresh: Vec<Arc<Endpoint>> = Vec::with_capacity(file.endpoints.len());
    for spec in &file.endpoints {
        let before = current
            .iter()
            .find(|endpoint| endpoint.source == Source::File && endpoint.name == spec.name);
        let mut endpoint = spec
            .build(Source::File)
            .map_err(|error| format!("endpoint {}: {error}", spec.name))?;
        match before {
            // Unchanged (compared as built, defaults filled in): it keeps its place in its steps and its counts.
            Some(before) if before.spec() == endpoint.spec() => fresh.push(Arc::clone(before)),
            _ => {
                endpoint.id = before.map_or_else(|| endpoints.allocate_id(), |before| before.id);
                fresh.push(Arc::new(endpoint));
            }
        }
    }
    let count = fresh.len();
    endpoints.change(|list| {
        list.retain(|endpoint| endpoint.source != Source::File);
        list.extend(fresh);
    });
    Ok(count)
}
