//! Config file formats, chosen by extension like Centrifugo does.

use std::path::Path;

use serde::Serialize;
use serde_json::Value;

/// A config file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    Json,
    Yaml,
    Toml,
}

/// The path has no supported extension; the message is Centrifugo's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("output config file must have one of supported extensions: json, toml, yaml, yml")]
pub struct FormatError;

impl Format {
    /// `.json`, `.yaml`/`.yml`, `.toml` (case-insensitive).
    pub fn from_path(path: impl AsRef<Path>) -> Result<Format, FormatError> {
        let ext = path
            .as_ref()
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match ext.as_deref() {
            Some("json") => Ok(Format::Json),
            Some("yaml" | "yml") => Ok(Format::Yaml),
            Some("toml") => Ok(Format::Toml),
            _ => Err(FormatError),
        }
    }

    /// Parses a document into one JSON value (an empty YAML document is `null`).
    pub(crate) fn parse(self, text: &str) -> Result<Value, String> {
        match self {
            Format::Json => serde_json::from_str(text).map_err(|e| e.to_string()),
            Format::Yaml => yaml_serde::from_str(text).map_err(|e| e.to_string()),
            Format::Toml => {
                let table: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
                serde_json::to_value(table).map_err(|e| e.to_string())
            }
        }
    }

    /// Renders any serializable value; JSON is pretty-printed with two-space indents.
    pub(crate) fn render<T: Serialize>(self, value: &T) -> Result<String, String> {
        match self {
            Format::Json => serde_json::to_string_pretty(value)
                .map(|mut s| {
                    s.push('\n');
                    s
                })
                .map_err(|e| e.to_string()),
            Format::Yaml => yaml_serde::to_string(value).map_err(|e| e.to_string()),
            Format::Toml => toml::to_string(value).map_err(|e| e.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_extension() {
        assert_eq!(Format::from_path("config.json"), Ok(Format::Json));
        assert_eq!(Format::from_path("/etc/c.YML"), Ok(Format::Yaml));
        assert_eq!(Format::from_path("c.yaml"), Ok(Format::Yaml));
        assert_eq!(Format::from_path("c.toml"), Ok(Format::Toml));
        assert_eq!(Format::from_path("c.ini"), Err(FormatError));
        assert_eq!(Format::from_path("config"), Err(FormatError));
    }
}
