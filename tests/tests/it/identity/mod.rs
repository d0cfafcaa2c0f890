//! The identity service, RPC by RPC and rule by rule.
mod audit;
mod credentials;
mod email;
mod enumeration;
mod impersonation;
mod invited;
mod passwords;
mod reset_policy;
mod retries;
mod status;
mod throttling;
mod users;
mod verified;

pub(crate) const PASSWORD: &str = "correct horse battery";
