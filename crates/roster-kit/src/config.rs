//! Configuration from `ROSTER_*` environment variables (and `DATABASE_URL`).
//!
//! Every variable is listed in the README's configuration table. Durations are written
//! the human way: `30s`, `15m`, `12h`, `7d`.
use std::{net::SocketAddr, str::FromStr, time::Duration};

use crate::error::{Error, Result};

/// The database every service uses unless told otherwise.
pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/roster";

/// Reads `name`, or `default` when unset or empty.
pub fn var_or<T: FromStr>(name: &str, default: T) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    match std::env::var(name) {
        Ok(value) if !value.trim().is_empty() => value
            .trim()
            .parse()
            .map_err(|e| Error::internal(format!("configuration {name}={value:?}"), e)),
        _ => Ok(default),
    }
}

/// Reads a duration such as `15m` from `name`, or `default`.
pub fn duration_or(name: &str, default: Duration) -> Result<Duration> {
    Ok(var_or::<humantime::Duration>(name, default.into())?.into())
}

/// Reads an optional string.
pub fn optional(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

/// The database URL of one service: `ROSTER_<SERVICE>_DATABASE_URL`, else `DATABASE_URL`,
/// else the local default.
pub fn database_url(service: &str) -> String {
    optional(&format!("ROSTER_{}_DATABASE_URL", service.to_uppercase()))
        .or_else(|| optional("DATABASE_URL"))
        .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
}

/// The database itself, when a service's database URL is a transaction-mode pooler in
/// front of it: `ROSTER_<SERVICE>_DIRECT_DATABASE_URL`, else `DIRECT_DATABASE_URL`.
pub fn direct_database_url(service: &str) -> Option<String> {
    optional(&format!(
        "ROSTER_{}_DIRECT_DATABASE_URL",
        service.to_uppercase()
    ))
    .or_else(|| optional("DIRECT_DATABASE_URL"))
}

/// A streaming replica of a service's database for reads that may lag:
/// `ROSTER_<SERVICE>_READ_DATABASE_URL`, else `READ_DATABASE_URL`.
pub fn read_database_url(service: &str) -> Option<String> {
    optional(&format!(
        "ROSTER_{}_READ_DATABASE_URL",
        service.to_uppercase()
    ))
    .or_else(|| optional("READ_DATABASE_URL"))
}

/// Connection pool limits.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Connections per service pool (`ROSTER_DB_POOL_SIZE`, default 16).
    pub max_size: usize,
    /// Longest wait for, creation of, or check of a connection (`ROSTER_DB_TIMEOUT`, default 5s).
    pub timeout: Duration,
}

impl PoolConfig {
    /// From the environment.
    pub fn from_env() -> Result<Self> {
        Ok(Self {
            max_size: var_or("ROSTER_DB_POOL_SIZE", 16)?,
            timeout: duration_or("ROSTER_DB_TIMEOUT", Duration::from_secs(5))?,
        })
    }
}

/// How the gRPC server runs.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (`ROSTER_LISTEN`, default `127.0.0.1:50051`).
    pub listen: SocketAddr,
    /// Longest time one request may take (`ROSTER_REQUEST_TIMEOUT`, default 30s).
    pub request_timeout: Duration,
    /// Requests served at once from outside the process; more are refused at once with
    /// `RESOURCE_EXHAUSTED` (`ROSTER_MAX_CONCURRENT_REQUESTS`, default 1024).
    pub max_concurrent_requests: usize,
    /// Costly calls (password checks, acceptances) served at once; more queue
    /// (`ROSTER_ADMISSION_CONCURRENCY`, default 4 per core).
    pub admission_concurrency: usize,
    /// Costly calls that may queue for a turn; more are refused at once with
    /// `RESOURCE_EXHAUSTED` (`ROSTER_ADMISSION_QUEUE`, default 32 per core). A queued call
    /// waits at most half its remaining deadline.
    pub admission_queue: usize,
    /// How long calls in flight at shutdown may take to finish
    /// (`ROSTER_DRAIN_TIMEOUT`, default 20s).
    pub drain_timeout: Duration,
    /// The largest request message accepted, in bytes; larger ones are `RESOURCE_EXHAUSTED`
    /// (`ROSTER_MAX_REQUEST_SIZE`, default 1 MiB: an `InviteUsers` of 500 addresses is about
    /// 130 KiB).
    pub max_request_bytes: usize,
    /// The web origins whose pages may call over gRPC-Web (`ROSTER_CORS_ALLOWED_ORIGINS`:
    /// comma-separated, such as `https://console.example.com`, or `*` for any; default none,
    /// so only pages of the server's own origin and clients outside browsers call it).
    pub cors_allowed_origins: CorsOrigins,
    /// Where Prometheus metrics are served, at `/metrics` (`ROSTER_METRICS_LISTEN`, such as
    /// `0.0.0.0:9090`; unset, none are: an address of its own is an operator's choice, kept
    /// off the gRPC port that clients reach).
    pub metrics_listen: Option<SocketAddr>,
}

/// Which web origins may call from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CorsOrigins {
    /// Every origin (`*`): the bearer token, not the page's origin, is the credential.
    Any,
    /// These origins exactly, such as `https://console.example.com`.
    List(Vec<String>),
}

impl FromStr for CorsOrigins {
    type Err = Error;

    fn from_str(value: &str) -> Result<Self> {
        let origins: Vec<&str> = value
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if origins == ["*"] {
            return Ok(Self::Any);
        }
        origins
            .into_iter()
            .map(|origin| {
                // An origin is scheme://host[:port]: no path, no trailing slash, no wildcard.
                let well_formed = origin.split_once("://").is_some_and(|(scheme, host)| {
                    matches!(scheme, "http" | "https")
                        && !host.is_empty()
                        && !host.contains(['/', '*', ' '])
                });
                if well_formed {
                    Ok(origin.to_owned())
                } else {
                    Err(Error::invalid(
                        "ROSTER_CORS_ALLOWED_ORIGINS",
                        format!(
                            "{origin:?} is not an origin such as https://console.example.com, nor *"
                        ),
                    ))
                }
            })
            .collect::<Result<_>>()
            .map(Self::List)
    }
}

impl ServerConfig {
    /// From the environment.
    pub fn from_env() -> Result<Self> {
        let cores = cores();
        Ok(Self {
            listen: var_or("ROSTER_LISTEN", SocketAddr::from(([127, 0, 0, 1], 50051)))?,
            request_timeout: duration_or("ROSTER_REQUEST_TIMEOUT", Duration::from_secs(30))?,
            max_concurrent_requests: var_or("ROSTER_MAX_CONCURRENT_REQUESTS", 1024)?,
            max_request_bytes: var_or("ROSTER_MAX_REQUEST_SIZE", 1 << 20)?,
            admission_concurrency: var_or("ROSTER_ADMISSION_CONCURRENCY", 4 * cores)?,
            admission_queue: var_or("ROSTER_ADMISSION_QUEUE", 32 * cores)?,
            drain_timeout: duration_or("ROSTER_DRAIN_TIMEOUT", Duration::from_secs(20))?,
            cors_allowed_origins: optional("ROSTER_CORS_ALLOWED_ORIGINS")
                .map_or(Ok(CorsOrigins::List(Vec::new())), |v| v.parse())?,
            metrics_listen: optional("ROSTER_METRICS_LISTEN")
                .map(|address| {
                    address
                        .trim()
                        .parse()
                        .map_err(|e: std::net::AddrParseError| {
                            Error::invalid("ROSTER_METRICS_LISTEN", format!("{address:?}: {e}"))
                        })
                })
                .transpose()?,
        })
    }
}

/// The cores this process may use, the unit of the concurrency defaults.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

/// Hides the password of a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let credentials = &url[scheme_end + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cors_origins_are_exact_origins_or_any() {
        assert_eq!("*".parse::<CorsOrigins>().ok(), Some(CorsOrigins::Any));
        assert_eq!(
            " https://console.example.com, http://localhost:5173 "
                .parse::<CorsOrigins>()
                .ok(),
            Some(CorsOrigins::List(vec![
                "https://console.example.com".to_owned(),
                "http://localhost:5173".to_owned()
            ]))
        );
        for bad in [
            "console.example.com",
            "https://console.example.com/",
            "https://*.example.com",
            "ftp://example.com",
            "*, https://a.example",
        ] {
            assert!(bad.parse::<CorsOrigins>().is_err(), "{bad}");
        }
    }

    #[test]
    fn redacts_passwords_only() {
        assert_eq!(
            redact_url("postgres://roster:s3cret@db:5432/roster"),
            "postgres://roster:***@db:5432/roster"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/roster"),
            "postgres://postgres@127.0.0.1/roster"
        );
    }
}
