//! Layered configuration: defaults (clap) → optional file (`CONFIG_PATH`) → environment →
//! command line. The file is JSON whose nested keys spell the environment names:
//! `{"http": {"addr": "0.0.0.0:8080"}}` is `DS_HTTP__ADDR`, and the top-level keys
//! `database_url`, `redis_url`, `embedder_url` are `DATABASE_URL`, `REDIS_URL`,
//! `EMBEDDER_URL`. Secrets can come from mounted files: `<NAME>_FILE` holds the path of the
//! value of `<NAME>`. Every error names the setting's key.

use std::collections::BTreeMap;
use std::ffi::OsString;

use clap::{CommandFactory, FromArgMatches};
use serde_json::Value;

use crate::cli::Cli;

/// An invalid setting, named by its key.
#[derive(Debug, thiserror::Error)]
#[error("invalid setting {key}: {reason}")]
pub struct ConfigError {
    pub key: String,
    pub reason: String,
}

fn known_env_names() -> Vec<String> {
    Cli::command()
        .get_arguments()
        .filter_map(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()))
        .collect()
}

fn env_name_of(path: &[String]) -> String {
    match path {
        [one] if ["database_url", "redis_url", "embedder_url"].contains(&one.as_str()) => {
            one.to_uppercase()
        }
        _ => format!(
            "DS_{}",
            path.iter()
                .map(|p| p.to_uppercase())
                .collect::<Vec<_>>()
                .join("__")
        ),
    }
}

fn flatten(
    prefix: &mut Vec<String>,
    value: &Value,
    out: &mut BTreeMap<String, String>,
) -> Result<(), ConfigError> {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                prefix.push(k.clone());
                flatten(prefix, v, out)?;
                prefix.pop();
            }
            Ok(())
        }
        Value::Null => Ok(()),
        scalar => {
            let key = env_name_of(prefix);
            let text = match scalar {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            out.insert(key, text);
            Ok(())
        }
    }
}

/// The settings from the file named by `CONFIG_PATH` (if any), as environment names.
fn file_settings(env: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
    let Some(path) = env.get("CONFIG_PATH") else {
        return Ok(BTreeMap::new());
    };
    let invalid = |reason: String| ConfigError {
        key: "CONFIG_PATH".into(),
        reason,
    };
    let text =
        std::fs::read_to_string(path).map_err(|e| invalid(format!("cannot read {path}: {e}")))?;
    let value: Value =
        serde_json::from_str(&text).map_err(|e| invalid(format!("{path} is not JSON: {e}")))?;
    let mut out = BTreeMap::new();
    flatten(&mut Vec::new(), &value, &mut out)?;
    let known = known_env_names();
    if let Some(unknown) = out.keys().find(|k| !known.contains(k)) {
        return Err(ConfigError {
            key: unknown.clone(),
            reason: format!("is not a setting (from {path})"),
        });
    }
    Ok(out)
}

/// Resolves `<NAME>_FILE` into `<NAME>` (for secrets mounted as files; trailing newline cut).
fn file_secrets(env: &mut BTreeMap<String, String>) -> Result<(), ConfigError> {
    for name in known_env_names() {
        let file_key = format!("{name}_FILE");
        if let Some(path) = env.get(&file_key).cloned() {
            let value = std::fs::read_to_string(&path).map_err(|e| ConfigError {
                key: file_key.clone(),
                reason: format!("cannot read {path}: {e}"),
            })?;
            env.entry(name)
                .or_insert_with(|| value.trim_end_matches(['\n', '\r']).to_owned());
        }
    }
    Ok(())
}

/// Parses the command line over the layered environment. A clap error for an invalid value
/// is re-worded to name the environment key too.
pub fn load(
    args: impl IntoIterator<Item = OsString>,
    process_env: BTreeMap<String, String>,
) -> Result<Cli, clap::Error> {
    let mut env = process_env;
    let mut layered = match file_settings(&env) {
        Ok(f) => f,
        Err(e) => {
            return Err(
                Cli::command().error(clap::error::ErrorKind::ValueValidation, e.to_string())
            );
        }
    };
    if let Err(e) = file_secrets(&mut env) {
        return Err(Cli::command().error(clap::error::ErrorKind::ValueValidation, e.to_string()));
    }
    layered.extend(env);
    let mut command = Cli::command();
    // Feed the layered values through each argument's env name.
    let args: Vec<OsString> = args.into_iter().collect();
    // Values from the file and from `_FILE` secrets become the defaults of their arguments;
    // clap still reads the process environment itself (which wins), and `--help` keeps the
    // environment names. Layered values are hidden from `--help`: they may be secrets.
    command = command.mut_args(|arg| {
        let layered_value = arg
            .get_env()
            .and_then(|e| layered.get(e.to_string_lossy().as_ref()).cloned());
        match layered_value {
            Some(v) => arg.default_value(v).hide_default_value(true),
            None => arg,
        }
    });
    let matches = command.try_get_matches_from(args).map_err(name_the_key)?;
    Cli::from_arg_matches(&matches).map_err(name_the_key)
}

fn name_the_key(e: clap::Error) -> clap::Error {
    use clap::error::{ContextKind, ContextValue};
    let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg) else {
        return e;
    };
    let long = arg
        .trim_start_matches("--")
        .split([' ', '='])
        .next()
        .unwrap_or("")
        .to_owned();
    let key = Cli::command()
        .get_arguments()
        .find(|a| a.get_long() == Some(long.as_str()))
        .and_then(|a| a.get_env().map(|e| e.to_string_lossy().into_owned()));
    match key {
        Some(key) => {
            let first = e.to_string();
            let detail = first
                .lines()
                .next()
                .unwrap_or("")
                .trim_start_matches("error: ")
                .to_owned();
            Cli::command().error(
                clap::error::ErrorKind::ValueValidation,
                format!("invalid setting {key}: {detail}"),
            )
        }
        None => e,
    }
}
