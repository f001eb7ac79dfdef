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

impl Format {
    /// `.json`, `.yaml`/`.yml`, `.toml` (case-insensitive); `None` for anything else.
    pub fn from_path(path: impl AsRef<Path>) -> Option<Format> {
        let ext = path.as_ref().extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "json" => Some(Format::Json),
            "yaml" | "yml" => Some(Format::Yaml),
            "toml" => Some(Format::Toml),
            _ => None,
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
        assert_eq!(Format::from_path("config.json"), Some(Format::Json));
        assert_eq!(Format::from_path("/etc/c.YML"), Some(Format::Yaml));
        assert_eq!(Format::from_path("c.yaml"), Some(Format::Yaml));
        assert_eq!(Format::from_path("c.toml"), Some(Format::Toml));
        assert_eq!(Format::from_path("c.ini"), None);
        assert_eq!(Format::from_path("config"), None);
    }
}
