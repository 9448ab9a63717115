//! The udev database (`/run/udev/data/b<major>:<minor>`): optional enrichment. Containers and
//! some hosts have no udev, so every caller must cope with an empty record.

use std::collections::HashMap;
use std::fs;
use std::path::Path;

#[derive(Debug, Default, Clone)]
pub struct UdevRecord {
    props: HashMap<String, String>,
}

impl UdevRecord {
    /// Reads one device's record; a missing or unreadable file is an empty record.
    pub fn load(path: &Path) -> UdevRecord {
        fs::read_to_string(path)
            .map(|text| UdevRecord::parse(&text))
            .unwrap_or_default()
    }

    pub fn parse(text: &str) -> UdevRecord {
        let props = text
            .lines()
            .filter_map(|line| line.strip_prefix("E:"))
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        UdevRecord { props }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.props
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// A property udev stores with `\x20`-style escapes (`ID_MODEL_ENC`), decoded and trimmed,
    /// falling back to the underscore form (`ID_MODEL`).
    pub fn decoded(&self, enc_key: &str, plain_key: &str) -> Option<String> {
        self.get(enc_key)
            .map(unescape_hex)
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .or_else(|| self.get(plain_key).map(|s| s.replace('_', " ")))
    }
}

fn unescape_hex(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1] == b'x' {
            if let Ok(b) = u8::from_str_radix(&s[i + 2..i + 4], 16) {
                out.push(b);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_properties_and_decodes_escapes() {
        let rec = UdevRecord::parse(
            "S:disk/by-id/ata-X\nE:ID_BUS=ata\nE:ID_MODEL=Samsung_SSD\nE:ID_MODEL_ENC=Samsung\\x20SSD\\x20\\x20\nE:EMPTY=\n",
        );
        assert_eq!(rec.get("ID_BUS"), Some("ata"));
        assert_eq!(rec.get("EMPTY"), None);
        assert_eq!(
            rec.decoded("ID_MODEL_ENC", "ID_MODEL").as_deref(),
            Some("Samsung SSD")
        );
    }

    #[test]
    fn missing_database_is_empty() {
        let rec = UdevRecord::load(Path::new("/nonexistent/udev/b8:0"));
        assert_eq!(rec.get("ID_BUS"), None);
    }
}
