//! Shape checks every service's adapter makes on request fields.
use uuid::Uuid;

use crate::auth::parse_id;
use crate::error::{Error, Result};

/// A required text field: `INVALID_ARGUMENT` when empty or blank.
pub fn required<'a>(field: &str, value: &'a str) -> Result<&'a str> {
    if value.trim().is_empty() {
        Err(Error::invalid(field, "is required"))
    } else {
        Ok(value)
    }
}

/// An optional id: `None` when empty.
pub fn optional_id(field: &str, value: &str) -> Result<Option<Uuid>> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse_id(field, value).map(Some)
    }
}

/// A list of ids; a bad one is named by its index (`role_ids[2]`).
pub fn ids(field: &str, values: &[String]) -> Result<Vec<Uuid>> {
    values
        .iter()
        .enumerate()
        .map(|(i, id)| parse_id(&format!("{field}[{i}]"), id))
        .collect()
}

/// The workspaces a request names: `None` for every workspace of the account
/// (`all_workspaces`), else the listed ones. Exactly one of the two must be given.
pub fn workspace_choice(
    workspace_ids: &[String],
    all_workspaces: bool,
) -> Result<Option<Vec<Uuid>>> {
    match (all_workspaces, workspace_ids.is_empty()) {
        (true, true) => Ok(None),
        (false, false) => ids("workspace_ids", workspace_ids).map(Some),
        (true, false) => Err(Error::invalid(
            "workspace_ids",
            "must be empty when all_workspaces is set",
        )),
        (false, true) => Err(Error::invalid(
            "workspace_ids",
            "name at least one workspace, or set all_workspaces",
        )),
    }
}
