//! The roles of JWT callers, from configuration: by subject and by the groups a token claims.

use std::collections::{BTreeMap, HashMap};

use datastorage_http::auth::Role;
use serde_json::Value;

use super::jwt::Claims;

#[derive(Debug, Clone, Default)]
pub struct RoleMapping {
    subjects: HashMap<String, Vec<Role>>,
    groups: HashMap<String, Vec<Role>>,
    groups_claim: String,
}

impl RoleMapping {
    /// `{"subjects": {"<sub>": ["<role>"]}, "groups": {"<group>": ["<role>"]}}`.
    ///
    /// # Errors
    /// When it is not such a document or names an unknown role.
    pub fn parse(text: &str, groups_claim: &str) -> Result<Self, String> {
        #[derive(serde::Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Document {
            #[serde(default)]
            subjects: BTreeMap<String, Vec<String>>,
            #[serde(default)]
            groups: BTreeMap<String, Vec<String>>,
        }
        let doc: Document =
            serde_json::from_str(text).map_err(|e| format!("not a role mapping: {e}"))?;
        let roles = |map: BTreeMap<String, Vec<String>>| {
            map.into_iter()
                .map(|(who, names)| {
                    let roles = names
                        .iter()
                        .map(|n| {
                            Role::parse(n).ok_or_else(|| format!("unknown role {n:?} for {who}"))
                        })
                        .collect::<Result<Vec<_>, _>>()?;
                    Ok((who, roles))
                })
                .collect::<Result<HashMap<_, _>, String>>()
        };
        Ok(Self {
            subjects: roles(doc.subjects)?,
            groups: roles(doc.groups)?,
            groups_claim: groups_claim.to_owned(),
        })
    }

    /// The roles of the subject and of every group claimed, each once.
    pub fn roles_of(&self, claims: &Claims) -> Vec<Role> {
        let groups: Vec<&str> = match claims.all.get(&self.groups_claim) {
            Some(Value::String(g)) => vec![g.as_str()],
            Some(Value::Array(gs)) => gs.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        let mut roles = Vec::new();
        let from_groups = groups.iter().filter_map(|g| self.groups.get(*g));
        for role in self
            .subjects
            .get(&claims.subject)
            .into_iter()
            .chain(from_groups)
            .flatten()
        {
            if !roles.contains(role) {
                roles.push(*role);
            }
        }
        roles
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use serde_json::json;

    use super::*;

    fn claims(sub: &str, extra: Value) -> Claims {
        let mut all = extra.as_object().cloned().unwrap_or_default();
        all.insert("sub".into(), json!(sub));
        Claims {
            subject: sub.into(),
            all,
        }
    }

    #[test]
    fn subjects_and_groups_grant_roles() {
        let m = RoleMapping::parse(
            r#"{"subjects": {"sa:gw": ["audit-writer"]}, "groups": {"ops": ["operator", "audit-writer"], "readers": ["audit-reader"]}}"#,
            "grp",
        )
        .unwrap();
        assert_eq!(m.roles_of(&claims("sa:gw", json!({}))), [Role::AuditWriter]);
        assert_eq!(
            m.roles_of(&claims("sa:gw", json!({"grp": ["ops", "nobody"]}))),
            [Role::AuditWriter, Role::Operator]
        );
        assert_eq!(
            m.roles_of(&claims("x", json!({"grp": "readers"}))),
            [Role::AuditReader]
        );
        assert_eq!(
            m.roles_of(&claims("x", json!({"groups": ["ops"]}))),
            [],
            "only the configured claim counts"
        );
    }

    #[test]
    fn unknown_roles_and_fields_are_refused() {
        assert!(RoleMapping::parse(r#"{"subjects": {"a": ["root"]}}"#, "groups").is_err());
        assert!(RoleMapping::parse(r#"{"users": {}}"#, "groups").is_err());
        assert!(RoleMapping::parse("{}", "groups").is_ok());
    }
}
