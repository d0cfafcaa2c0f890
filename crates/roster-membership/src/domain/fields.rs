//! Account-level custom fields: definitions, and values on members or the account.
use roster_kit::protobuf::{json_to_map, value_to_json};
use serde_json::{Map, Value};

use roster_kit::audit::{AuditRecord, Changes};
use roster_kit::auth::Caller;
use roster_kit::requests::Replay;
use roster_kit::{Error, Result, audit, requests};
use roster_proto::membership as pb;
use uuid::Uuid;

use super::{Membership, required_name};
use crate::domain::model::CustomFieldRecord;
use crate::store;
use tracing::instrument;

fn check_key(key: &str) -> Result<()> {
    let well_formed = key.len() <= 64
        && key.starts_with(|c: char| c.is_ascii_lowercase())
        && key
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if well_formed {
        Ok(())
    } else {
        Err(Error::invalid(
            "field.key",
            format!(
                "{key:?} must be lower-case letters, digits and _ (starting with a letter, at most 64)"
            ),
        ))
    }
}

/// Why `value` does not fit `field`, if it does not.
fn misfit(field: &CustomFieldRecord, value: &Value) -> Option<String> {
    let fits = match field.field_type {
        pb::CustomFieldType::Number => value.is_number(),
        pb::CustomFieldType::Boolean => value.is_boolean(),
        pb::CustomFieldType::OneOf => value
            .as_str()
            .is_some_and(|v| field.options.iter().any(|o| o == v)),
        pb::CustomFieldType::String | pb::CustomFieldType::Unspecified => value.is_string(),
    };
    (!fits).then(|| match field.field_type {
        pb::CustomFieldType::OneOf => format!("must be one of {:?}", field.options),
        pb::CustomFieldType::Number => "must be a number".to_owned(),
        pb::CustomFieldType::Boolean => "must be true or false".to_owned(),
        pb::CustomFieldType::String | pb::CustomFieldType::Unspecified => "must be text".to_owned(),
    })
}

/// `current` with `changes` merged in (null clears), checked against the definitions
/// that apply to `target`.
fn merge_values(
    definitions: &[CustomFieldRecord],
    target: pb::CustomFieldTarget,
    current: &Value,
    changes: &std::collections::HashMap<String, prost_types::Value>,
) -> Result<Value> {
    let mut merged: Map<String, Value> = current.as_object().cloned().unwrap_or_default();
    let mut violations = roster_kit::error::Violations::new();
    let mut keys: Vec<&String> = changes.keys().collect();
    keys.sort();
    for key in keys {
        let value = value_to_json(&changes[key]);
        let field = format!("values[{key}]");
        match definitions
            .iter()
            .find(|d| d.key == *key && d.target == target)
        {
            None => violations.add(field, "no such custom field for this target"),
            Some(_) if value.is_null() => {
                merged.remove(key);
            }
            Some(definition) => match misfit(definition, &value) {
                Some(why) => violations.add(field, why),
                None => {
                    merged.insert(key.clone(), value);
                }
            },
        }
    }
    for definition in definitions
        .iter()
        .filter(|d| d.target == target && d.required)
    {
        if !merged.contains_key(&definition.key) {
            violations.add(format!("values[{}]", definition.key), "is required");
        }
    }
    violations.finish()?;
    Ok(Value::Object(merged))
}

impl Membership {
    /// Defines or redefines a custom field (operators and account administrators).
    #[instrument(skip_all, name = "membership.domain.define_custom_field")]
    pub(crate) async fn define_custom_field(
        &self,
        caller: &Caller,
        account_id: Uuid,
        field: pb::CustomField,
    ) -> Result<pb::CustomField> {
        check_key(&field.key)?;
        let label = required_name("field.label", &field.label)?;
        let field_type = field.r#type();
        let target = field.target();
        let mut violations = roster_kit::error::Violations::new();
        if field_type == pb::CustomFieldType::Unspecified {
            violations.add("field.type", "is required");
        }
        if target == pb::CustomFieldTarget::Unspecified {
            violations.add("field.target", "is required (MEMBER or ACCOUNT)");
        }
        let mut options: Vec<String> = Vec::new();
        for option in field.options.iter().map(|o| o.trim()) {
            if !option.is_empty() && !options.iter().any(|o| o == option) {
                options.push(option.to_owned());
            }
        }
        match (field_type, options.is_empty()) {
            (pb::CustomFieldType::OneOf, true) => {
                violations.add("field.options", "a ONE_OF field needs options")
            }
            (pb::CustomFieldType::OneOf, false) | (_, true) => {}
            (_, false) => violations.add("field.options", "only ONE_OF fields have options"),
        }
        violations.finish()?;
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        self.require_account_admin(&tx, caller, account_id).await?;
        if let Replay::Done(previous) =
            requests::begin::<pb::CustomField>(&tx, caller, "DefineCustomField", now).await?
        {
            return Ok(previous);
        }
        let stored = store::upsert_custom_field(
            &tx,
            &CustomFieldRecord {
                account_id,
                key: field.key.clone(),
                label,
                field_type,
                options,
                target,
                required: field.required,
                created_at: now,
            },
        )
        .await?;
        let changes = Changes::new()
            .field("label", None::<String>, &stored.label)
            .field(
                "type",
                None::<String>,
                store::field_type_as_db(stored.field_type),
            )
            .field("required", None::<bool>, stored.required);
        let record = AuditRecord {
            action: "membership.custom_field.define",
            target_type: "custom_field",
            target_id: format!("{account_id}/{}", stored.key),
            account_id: Some(account_id),
            changes,
        };
        audit::record(&tx, caller, now, record).await?;
        let answer = stored.to_proto();
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }

    /// Lists an account's custom fields (operators, administrators and members).
    #[instrument(skip_all, name = "membership.domain.list_custom_fields")]
    pub(crate) async fn list_custom_fields(
        &self,
        caller: &Caller,
        account_id: Uuid,
    ) -> Result<Vec<pb::CustomField>> {
        let db = self.pool.get().await?;
        self.require_account_reader(&db, caller, account_id).await?;
        Ok(store::list_custom_fields(&db, account_id)
            .await?
            .iter()
            .map(CustomFieldRecord::to_proto)
            .collect())
    }

    /// Sets custom field values on a member of the account (`user_id`) or on the account
    /// itself (operators and account administrators).
    #[instrument(skip_all, name = "membership.domain.set_custom_field_values")]
    pub(crate) async fn set_custom_field_values(
        &self,
        caller: &Caller,
        account_id: Uuid,
        user_id: Option<Uuid>,
        changes: &std::collections::HashMap<String, prost_types::Value>,
    ) -> Result<pb::SetCustomFieldValuesResponse> {
        let now = self.now();
        let mut db = self.pool.get().await?;
        let tx = db.transaction().await?;
        self.require_account_admin(&tx, caller, account_id).await?;
        if let Replay::Done(previous) = requests::begin::<pb::SetCustomFieldValuesResponse>(
            &tx,
            caller,
            "SetCustomFieldValues",
            now,
        )
        .await?
        {
            return Ok(previous);
        }
        let definitions = store::list_custom_fields(&tx, account_id).await?;
        let (before, after, target_id) = match user_id {
            Some(user_id) => {
                if !store::is_account_member(&tx, account_id, user_id).await? {
                    return Err(Error::not_found("member", user_id));
                }
                let before = store::lock_member_field_values(&tx, account_id, user_id).await?;
                let after = merge_values(
                    &definitions,
                    pb::CustomFieldTarget::Member,
                    &before,
                    changes,
                )?;
                store::set_member_field_values(&tx, account_id, user_id, &after).await?;
                (before, after, user_id.to_string())
            }
            None => {
                let before = self
                    .account(&tx, account_id, true)
                    .await?
                    .custom_field_values;
                let after = merge_values(
                    &definitions,
                    pb::CustomFieldTarget::Account,
                    &before,
                    changes,
                )?;
                store::set_account_field_values(&tx, account_id, &after, now).await?;
                (before, after, account_id.to_string())
            }
        };
        let record = AuditRecord {
            action: "membership.custom_field.set_values",
            target_type: if user_id.is_some() {
                "member"
            } else {
                "account"
            },
            target_id,
            account_id: Some(account_id),
            changes: Changes::new().field("custom_field_values", &before, &after),
        };
        audit::record(&tx, caller, now, record).await?;
        let answer = pb::SetCustomFieldValuesResponse {
            values: json_to_map(after),
        };
        requests::finish(&tx, caller, Some(&answer)).await?;
        tx.commit().await?;
        Ok(answer)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    fn field(key: &str, field_type: pb::CustomFieldType, required: bool) -> CustomFieldRecord {
        CustomFieldRecord {
            account_id: Uuid::nil(),
            key: key.to_owned(),
            label: key.to_owned(),
            field_type,
            options: vec!["eu".to_owned(), "us".to_owned()],
            target: pb::CustomFieldTarget::Member,
            required,
            created_at: Utc::now(),
        }
    }

    fn value(json: Value) -> prost_types::Value {
        roster_kit::protobuf::json_to_value(json)
    }

    #[test]
    fn values_are_checked_against_their_definitions() {
        let definitions = [
            field("employee_id", pb::CustomFieldType::String, true),
            field("budget", pb::CustomFieldType::Number, false),
            field("region", pb::CustomFieldType::OneOf, false),
        ];
        let target = pb::CustomFieldTarget::Member;
        let good = [
            ("employee_id".to_owned(), value(Value::from("E-7"))),
            ("region".to_owned(), value(Value::from("eu"))),
        ]
        .into();
        let merged = merge_values(&definitions, target, &Value::Null, &good).expect("valid");
        assert_eq!(merged["region"], "eu");
        let clear = [("region".to_owned(), value(Value::Null))].into();
        let cleared = merge_values(&definitions, target, &merged, &clear).expect("valid");
        assert!(cleared.get("region").is_none());
        for bad in [
            ("budget", Value::from("lots")),
            ("region", Value::from("mars")),
            ("nickname", Value::from("joe")),
            ("employee_id", Value::Null),
        ] {
            let changes = [(bad.0.to_owned(), value(bad.1.clone()))].into();
            assert!(
                merge_values(&definitions, target, &merged, &changes).is_err(),
                "{bad:?}"
            );
        }
    }
}
