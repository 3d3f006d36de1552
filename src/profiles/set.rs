//! The profiles in force: the built-ins and the custom ones (from the configuration file and the API), and which
//! one checks a request: the endpoint's required profile; otherwise the first custom profile whose detect rule
//! recognises it, in the order defined; otherwise the built-in it resembles most.

use std::sync::{Arc, RwLock};

use super::custom::CustomProfile;
use super::profile::{Profile, Subject};
use super::registry;
use super::spec::ProfileSpec;

/// A profile, built in or custom.
#[derive(Clone)]
pub enum ProfileRef {
    BuiltIn(&'static dyn Profile),
    Custom(Arc<CustomProfile>),
}

impl std::ops::Deref for ProfileRef {
    type Target = dyn Profile;

    fn deref(&self) -> &Self::Target {
        match self {
            ProfileRef::BuiltIn(profile) => *profile,
            ProfileRef::Custom(profile) => profile.as_ref(),
        }
    }
}

/// Where a custom profile was defined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProfileSource {
    File,
    Api,
}

/// A custom profile with what it was made from.
#[derive(Debug)]
pub struct Defined {
    pub profile: Arc<CustomProfile>,
    pub spec: ProfileSpec,
    pub source: ProfileSource,
}

/// The custom profiles, in the order defined; read as a snapshot by each capture.
#[derive(Debug, Default)]
pub struct Profiles {
    list: RwLock<Arc<Vec<Arc<Defined>>>>,
}

/// Which profiles may check one request.
#[derive(Clone)]
pub struct Choice {
    /// The endpoint's required profile.
    pub required: Option<ProfileRef>,
    /// The custom profiles, in order.
    pub custom: Arc<Vec<Arc<Defined>>>,
}

impl Choice {
    /// Only the built-ins.
    pub fn built_in() -> Choice {
        Choice {
            required: None,
            custom: Arc::default(),
        }
    }

    /// The profile that checks `subject`, if any.
    pub fn choose(&self, subject: &Subject<'_>) -> Option<ProfileRef> {
        if let Some(required) = &self.required {
            return Some(required.clone());
        }
        if let Some(defined) = self.custom.iter().find(|defined| defined.profile.detects(subject)) {
            return Some(ProfileRef::Custom(Arc::clone(&defined.profile)));
        }
        registry::detect(subject).map(ProfileRef::BuiltIn)
    }
}

impl Profiles {
    pub fn new(list: Vec<Defined>) -> Profiles {
        Profiles {
            list: RwLock::new(Arc::new(list.into_iter().map(Arc::new).collect())),
        }
    }

    /// The custom profiles as they are now.
    pub fn snapshot(&self) -> Arc<Vec<Arc<Defined>>> {
        Arc::clone(&self.list.read().unwrap_or_else(|poisoned| poisoned.into_inner()))
    }

    /// Replaces the custom profiles by what `change` makes of them.
    pub fn change<T>(&self, change: impl FnOnce(&mut Vec<Arc<Defined>>) -> T) -> T {
        let mut list = self.list.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut changed = list.as_ref().clone();
        let result = change(&mut changed);
        *list = Arc::new(changed);
        result
    }

    /// The profile of that name, built in or custom.
    pub fn by_name(&self, name: &str) -> Option<ProfileRef> {
        registry::by_name(name).map(ProfileRef::BuiltIn).or_else(|| {
            self.snapshot()
                .iter()
                .find(|defined| defined.profile.name == name)
                .map(|defined| ProfileRef::Custom(Arc::clone(&defined.profile)))
        })
    }

    /// Every profile's name: the built-ins, then the custom ones in order.
    pub fn names(&self) -> Vec<String> {
        registry::names()
            .map(str::to_owned)
            .chain(self.snapshot().iter().map(|defined| defined.profile.name.clone()))
            .collect()
    }

    /// The choice for a request under an endpoint that requires `required` (by name), if any.
    pub fn choice(&self, required: Option<&str>) -> Choice {
        Choice {
            required: required.and_then(|name| self.by_name(name)),
            custom: self.snapshot(),
        }
    }
}
