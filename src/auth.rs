//! API tokens and what they permit.
//!
//! A token is a random secret shown once when created. Only its SHA-256 is
//! stored; a request's token is hashed and looked up. [`Secret`] never shows
//! its text in `Debug` output, so it cannot reach a log line by accident.

use std::fmt;
use std::str::FromStr;

use rand::RngCore;
use sha2::{Digest, Sha256};

/// What a token may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Permission {
    /// Read onboarding, client lists and the stuck list.
    ClientsView,
    /// Create and update clients, assign templates, toggle milestones, record facts.
    ClientsUpdate,
    /// Create, change, deactivate and delete templates.
    TemplatesManage,
    /// Everything.
    All,
}

impl Permission {
    pub const NAMES: [&'static str; 4] =
        ["clients:view", "clients:update", "templates:manage", "*"];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::ClientsView => "clients:view",
            Permission::ClientsUpdate => "clients:update",
            Permission::TemplatesManage => "templates:manage",
            Permission::All => "*",
        }
    }
}

impl FromStr for Permission {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.trim() {
            "clients:view" => Ok(Permission::ClientsView),
            "clients:update" => Ok(Permission::ClientsUpdate),
            "templates:manage" => Ok(Permission::TemplatesManage),
            "*" => Ok(Permission::All),
            other => Err(format!(
                "unknown permission {other:?}; expected one of {}",
                Permission::NAMES.join(", ")
            )),
        }
    }
}

/// Parses `a,b,c` into permissions, refusing an empty list.
pub fn parse_permissions(text: &str) -> Result<Vec<Permission>, String> {
    let permissions = text
        .split(',')
        .filter(|part| !part.trim().is_empty())
        .map(str::parse)
        .collect::<Result<Vec<Permission>, String>>()?;
    if permissions.is_empty() {
        return Err("no permissions given".into());
    }
    let mut distinct = Vec::with_capacity(permissions.len());
    for permission in permissions {
        if !distinct.contains(&permission) {
            distinct.push(permission);
        }
    }
    Ok(distinct)
}

/// Joins permissions as they are stored.
pub fn format_permissions(permissions: &[Permission]) -> String {
    permissions
        .iter()
        .map(|p| p.as_str())
        .collect::<Vec<_>>()
        .join(",")
}

/// The user a request acts for, and what its token allows.
#[derive(Clone, Debug)]
pub struct Principal {
    pub user_id: String,
    pub user_name: String,
    pub permissions: Vec<Permission>,
}

impl Principal {
    /// Whether the token grants `needed`; `*` grants everything, and
    /// `templates:manage` also reads templates (checked by the route).
    pub fn may(&self, needed: Permission) -> bool {
        self.permissions
            .iter()
            .any(|&p| p == Permission::All || p == needed)
    }
}

/// A token's secret text. Its `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// A new random token: a fixed prefix and 32 random bytes in hex.
    pub fn generate() -> Secret {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Secret(format!("onb_{}", hex::encode(bytes)))
    }

    pub fn new(text: impl Into<String>) -> Secret {
        Secret(text.into())
    }

    /// The text, for showing once to the person who created it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// What is stored and looked up.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(..)")
    }
}

/// A random id with a readable prefix, e.g. `tpl_3k9x0c7q2m4v`.
pub fn random_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789abcdefghjkmnpqrstvwxyz";
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    let tail: String = bytes
        .iter()
        .map(|b| ALPHABET[usize::from(b % 32)] as char)
        .collect();
    format!("{prefix}_{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_redacted_in_debug() {
        let secret = Secret::generate();
        assert!(secret.expose().starts_with("onb_"));
        assert_eq!(secret.expose().len(), 4 + 64);
        assert_eq!(format!("{secret:?}"), "Secret(..)");
    }

    #[test]
    fn parses_permission_lists() {
        assert_eq!(
            parse_permissions("clients:view, clients:update").unwrap(),
            vec![Permission::ClientsView, Permission::ClientsUpdate]
        );
        assert_eq!(
            parse_permissions("clients:view,clients:view").unwrap(),
            vec![Permission::ClientsView]
        );
        assert!(parse_permissions("clients:delete").is_err());
        assert!(parse_permissions(" , ").is_err());
    }

    #[test]
    fn star_grants_everything() {
        let p = Principal {
            user_id: "u".into(),
            user_name: "U".into(),
            permissions: vec![Permission::All],
        };
        assert!(p.may(Permission::TemplatesManage));
        let viewer = Principal {
            permissions: vec![Permission::ClientsView],
            ..p
        };
        assert!(viewer.may(Permission::ClientsView));
        assert!(!viewer.may(Permission::ClientsUpdate));
    }
}
