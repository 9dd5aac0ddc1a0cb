//! Settings, and the one order in which they are read.
//!
//! Strongest first: command-line flags, the environment (`ONBOARDING_CONFIG`,
//! `ONBOARDING_DB`, `ONBOARDING_LISTEN`), the config file, built-in defaults.
//! The config file is the one named by `--config` or `ONBOARDING_CONFIG`, else
//! `onboarding.toml` in the working directory when there is one. It is flat
//! TOML; every key is documented in `onboarding.toml.example`. An unknown key
//! or a bad value is refused with a message naming the key.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything the service can be told.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Address the HTTP server binds to.
    pub listen: SocketAddr,
    /// Path of the SQLite database file.
    pub database: PathBuf,
    /// Days without onboarding activity after which an unfinished client is stuck.
    pub stuck_after_days: u32,
    /// How many clients the stuck list shows when the request gives no `limit`.
    pub stuck_limit: u32,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Number of pooled SQLite connections.
    pub pool_size: u32,
    /// How long a request waits for a database connection or lock before `503`.
    pub db_wait_ms: u64,
    /// Log level (`error`, `warn`, `info`, `debug`, `trace`); `RUST_LOG` overrides it.
    pub log_level: String,
    /// Origins allowed to call the API from a browser; empty turns CORS off.
    pub cors_origins: Vec<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database: PathBuf::from("onboarding.db"),
            stuck_after_days: 14,
            stuck_limit: 5,
            max_body_bytes: 64 * 1024,
            pool_size: 8,
            db_wait_ms: 5_000,
            log_level: "info".into(),
            cors_origins: Vec::new(),
        }
    }
}

/// What flags and environment say; `None` where they say nothing.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub config: Option<PathBuf>,
    pub database: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
}

/// A config file that cannot be used. The message names the file and key.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct SettingsError(String);

/// The default config file, read when present.
pub const DEFAULT_CONFIG_FILE: &str = "onboarding.toml";

impl Settings {
    /// Reads the config file (if any) under the overrides.
    pub fn load(overrides: &Overrides) -> Result<Settings, SettingsError> {
        let mut settings = Settings::default();

        let file = match &overrides.config {
            Some(path) => Some(path.clone()),
            None => Some(PathBuf::from(DEFAULT_CONFIG_FILE)).filter(|p| p.exists()),
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(&path).map_err(|err| {
                SettingsError(format!(
                    "config file {}: cannot read: {err}",
                    path.display()
                ))
            })?;
            settings
                .apply_toml(&text)
                .map_err(|msg| SettingsError(format!("config file {}: {msg}", path.display())))?;
        }

        if let Some(database) = &overrides.database {
            settings.database = database.clone();
        }
        if let Some(listen) = overrides.listen {
            settings.listen = listen;
        }
        Ok(settings)
    }

    /// Applies the keys of a flat TOML document.
    pub fn apply_toml(&mut self, text: &str) -> Result<(), String> {
        let table: toml::Table = text.parse().map_err(|err: toml::de::Error| {
            let message = err.message().trim();
            match err.span() {
                Some(span) => {
                    let line = text[..span.start].matches('\n').count() + 1;
                    let content = text.lines().nth(line - 1).unwrap_or("").trim();
                    format!("line {line} (`{content}`): {message}")
                }
                None => format!("not valid TOML: {message}"),
            }
        })?;

        for (key, value) in &table {
            let problem = |expected: &str| format!("key `{key}`: expected {expected}");
            match key.as_str() {
                "listen" => {
                    self.listen = value
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| problem("an address such as \"127.0.0.1:8080\""))?;
                }
                "database" => {
                    self.database = value
                        .as_str()
                        .filter(|s| !s.is_empty())
                        .map(PathBuf::from)
                        .ok_or_else(|| problem("a file path"))?;
                }
                "stuck_after_days" => {
                    self.stuck_after_days = whole_number(value, 1, 3650)
                        .ok_or_else(|| problem("a whole number from 1 to 3650"))?
                        as u32;
                }
                "stuck_limit" => {
                    self.stuck_limit = whole_number(value, 1, 50)
                        .ok_or_else(|| problem("a whole number from 1 to 50"))?
                        as u32;
                }
                "max_body_bytes" => {
                    self.max_body_bytes = whole_number(value, 1024, 64 * 1024 * 1024)
                        .ok_or_else(|| problem("a whole number of bytes from 1024 to 67108864"))?
                        as u64;
                }
                "pool_size" => {
                    self.pool_size = whole_number(value, 1, 256)
                        .ok_or_else(|| problem("a whole number from 1 to 256"))?
                        as u32;
                }
                "db_wait_ms" => {
                    self.db_wait_ms = whole_number(value, 1, 600_000)
                        .ok_or_else(|| problem("a whole number of milliseconds from 1 to 600000"))?
                        as u64;
                }
                "log_level" => {
                    self.log_level = value
                        .as_str()
                        .filter(|s| LOG_LEVELS.contains(s))
                        .map(str::to_owned)
                        .ok_or_else(|| problem("one of error, warn, info, debug, trace"))?;
                }
                "cors_origins" => {
                    self.cors_origins = value
                        .as_array()
                        .and_then(|items| {
                            items
                                .iter()
                                .map(|item| {
                                    item.as_str().filter(|s| is_origin(s)).map(str::to_owned)
                                })
                                .collect::<Option<Vec<_>>>()
                        })
                        .ok_or_else(|| {
                            problem("a list of origins such as [\"https://app.example.com\"]")
                        })?;
                }
                _ => return Err(format!("unknown key `{key}`")),
            }
        }
        Ok(())
    }
}

const LOG_LEVELS: [&str; 5] = ["error", "warn", "info", "debug", "trace"];

fn whole_number(value: &toml::Value, min: i64, max: i64) -> Option<i64> {
    value.as_integer().filter(|n| (min..=max).contains(n))
}

fn is_origin(text: &str) -> bool {
    (text.starts_with("http://") || text.starts_with("https://"))
        && !text.ends_with('/')
        && !text.contains(char::is_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_match_the_spec() {
        let s = Settings::default();
        assert_eq!(s.listen.to_string(), "127.0.0.1:8080");
        assert_eq!(s.database, PathBuf::from("onboarding.db"));
        assert_eq!(
            (s.stuck_after_days, s.stuck_limit, s.max_body_bytes),
            (14, 5, 65536)
        );
    }

    #[test]
    fn reads_every_key() {
        let mut s = Settings::default();
        s.apply_toml(
            r#"
            listen = "0.0.0.0:9000"
            database = "/var/lib/onboarding/data.db"
            stuck_after_days = 7
            stuck_limit = 10
            max_body_bytes = 2048
            pool_size = 4
            db_wait_ms = 250
            log_level = "debug"
            cors_origins = ["https://crm.example.com"]
            "#,
        )
        .unwrap();
        assert_eq!(s.listen.to_string(), "0.0.0.0:9000");
        assert_eq!(s.stuck_after_days, 7);
        assert_eq!(s.stuck_limit, 10);
        assert_eq!(s.max_body_bytes, 2048);
        assert_eq!(s.pool_size, 4);
        assert_eq!(s.db_wait_ms, 250);
        assert_eq!(s.log_level, "debug");
        assert_eq!(s.cors_origins, vec!["https://crm.example.com".to_string()]);
    }

    #[test]
    fn names_the_key_at_fault() {
        let mut s = Settings::default();
        let err = s.apply_toml("stuck_limit = 0").unwrap_err();
        assert_eq!(
            err,
            "key `stuck_limit`: expected a whole number from 1 to 50"
        );
        let err = s.apply_toml("stuck_after_dayz = 3").unwrap_err();
        assert_eq!(err, "unknown key `stuck_after_dayz`");
        let err = s
            .apply_toml("stuck_limit = 3\nstuck_limit = 4")
            .unwrap_err();
        assert!(
            err.starts_with("line 2 (`stuck_limit = 4`): duplicate key"),
            "{err}"
        );
        let err = s.apply_toml("listen = 8080").unwrap_err();
        assert!(err.starts_with("key `listen`"), "{err}");
    }

    #[test]
    fn the_example_file_documents_every_key_with_its_default() {
        let text = include_str!("../onboarding.toml.example");
        let mut s = Settings::default();
        s.apply_toml(text).unwrap();
        assert_eq!(s, Settings::default());
        for key in [
            "listen",
            "database",
            "stuck_after_days",
            "stuck_limit",
            "max_body_bytes",
            "pool_size",
            "db_wait_ms",
            "log_level",
            "cors_origins",
        ] {
            assert!(
                text.contains(&format!("\n{key} = ")),
                "{key} is not in the example"
            );
        }
    }

    #[test]
    fn flags_beat_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("c.toml");
        std::fs::write(&file, "database = \"from-file.db\"\nstuck_limit = 9\n").unwrap();
        let overrides = Overrides {
            config: Some(file),
            database: Some("from-flag.db".into()),
            listen: None,
        };
        let s = Settings::load(&overrides).unwrap();
        assert_eq!(s.database, PathBuf::from("from-flag.db"));
        assert_eq!(s.stuck_limit, 9);
    }
}
