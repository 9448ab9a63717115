//! Sizes as people write them (`64MiB`, `10KB`) and as `lsblk` prints them (`1.5 GiB`).

/// A size that is not a number with a known unit, or does not fit 64 bits.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SizeError {
    #[error("bad size {0:?} (a whole number with a unit: KiB, MiB, GiB, KB, MB, GB)")]
    Syntax(String),
    #[error("bad size unit {unit:?} in {size:?} (use KiB, MiB, GiB, KB, MB, GB)")]
    Unit { unit: String, size: String },
    #[error("size {0:?} is too large")]
    TooLarge(String),
}

/// `4KiB`, `1MiB`, `64MiB`, `1GiB`, `10KB` (decimal), `123` (bytes).
pub fn parse_size(s: &str) -> Result<u64, SizeError> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: u64 = num.parse().map_err(|_| match num.is_empty() {
        true => SizeError::Syntax(s.to_string()),
        // Only digits: it parses unless it overflows.
        false => SizeError::TooLarge(s.to_string()),
    })?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        other => {
            return Err(SizeError::Unit {
                unit: other.to_string(),
                size: s.to_string(),
            })
        }
    };
    n.checked_mul(mult)
        .ok_or_else(|| SizeError::TooLarge(s.to_string()))
}

/// Binary units, as `lsblk` prints them.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_in_binary_and_decimal_units() {
        assert_eq!(parse_size("123"), Ok(123));
        assert_eq!(parse_size(" 4KiB "), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("1g"), Ok(1 << 30));
        assert_eq!(parse_size("10KB"), Ok(10_000));
        assert_eq!(parse_size("2 MB"), Ok(2_000_000));
    }

    #[test]
    fn bad_sizes_are_errors_not_panics_or_wraps() {
        assert!(matches!(parse_size(""), Err(SizeError::Syntax(_))));
        assert!(matches!(parse_size("MiB"), Err(SizeError::Syntax(_))));
        assert!(matches!(parse_size("-1"), Err(SizeError::Syntax(_))));
        assert!(matches!(parse_size("5TB"), Err(SizeError::Unit { .. })));
        assert!(matches!(parse_size("1.5MiB"), Err(SizeError::Unit { .. })));
        // Overflows in the number and in the product.
        assert!(matches!(
            parse_size("99999999999999999999"),
            Err(SizeError::TooLarge(_))
        ));
        assert!(matches!(
            parse_size("99999999999999GiB"),
            Err(SizeError::TooLarge(_))
        ));
    }

    #[test]
    fn sizes_print_as_lsblk_does() {
        assert_eq!(human_size(512), "512 B");
        assert_eq!(human_size(1536 * 1024 * 1024), "1.5 GiB");
    }
}
