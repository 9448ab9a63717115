//! Drive arguments with MinIO's ellipsis notation: `/mnt/disk{1...8}` is eight drives,
//! `/data{1...4}/export{1...2}` the cross product. Each argument with an ellipsis is one group
//! (its drives are cut into erasure sets on their own); plain paths together form one group.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EllipsisError {
    #[error("{0:?}: bad ellipsis range (expected {{A...B}} with integers A <= B)")]
    BadRange(String),
    #[error("cannot mix plain drive paths with ellipsis patterns ({0:?})")]
    Mixed(String),
    #[error("no drives given")]
    Empty,
}

/// Expands drive arguments into groups of paths.
pub fn expand_groups(args: &[String]) -> Result<Vec<Vec<PathBuf>>, EllipsisError> {
    if args.is_empty() {
        return Err(EllipsisError::Empty);
    }
    let patterned: Vec<&String> = args.iter().filter(|a| a.contains("...")).collect();
    if patterned.is_empty() {
        return Ok(vec![args.iter().map(PathBuf::from).collect()]);
    }
    if patterned.len() != args.len() {
        let plain = args
            .iter()
            .find(|a| !a.contains("..."))
            .cloned()
            .unwrap_or_default();
        return Err(EllipsisError::Mixed(plain));
    }
    args.iter()
        .map(|a| Ok(expand(a)?.into_iter().map(PathBuf::from).collect()))
        .collect()
}

/// All expansions of one pattern, leftmost range varying slowest.
pub fn expand(pattern: &str) -> Result<Vec<String>, EllipsisError> {
    let Some(open) = pattern.find('{') else {
        return if pattern.contains("...") {
            Err(EllipsisError::BadRange(pattern.to_string()))
        } else {
            Ok(vec![pattern.to_string()])
        };
    };
    let close = pattern[open..]
        .find('}')
        .map(|c| open + c)
        .ok_or_else(|| EllipsisError::BadRange(pattern.to_string()))?;
    let (head, range, tail) = (
        &pattern[..open],
        &pattern[open + 1..close],
        &pattern[close + 1..],
    );
    let (a, b) = range
        .split_once("...")
        .ok_or_else(|| EllipsisError::BadRange(pattern.to_string()))?;
    let bad = || EllipsisError::BadRange(pattern.to_string());
    let (start, end): (u64, u64) = (a.parse().map_err(|_| bad())?, b.parse().map_err(|_| bad())?);
    if start > end || end - start > 10_000 {
        return Err(bad());
    }
    // `{01...16}` keeps the zero padding.
    let width = if a.starts_with('0') && a.len() > 1 {
        a.len()
    } else {
        0
    };
    let rest = expand(tail)?;
    let mut out = Vec::new();
    for i in start..=end {
        for r in &rest {
            out.push(format!("{head}{i:0width$}{r}"));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_ranges_products_and_padding() {
        assert_eq!(expand("/d{1...3}").unwrap(), vec!["/d1", "/d2", "/d3"]);
        assert_eq!(
            expand("/data{1...2}/export{1...2}").unwrap(),
            vec![
                "/data1/export1",
                "/data1/export2",
                "/data2/export1",
                "/data2/export2"
            ]
        );
        assert_eq!(expand("/d{08...10}").unwrap(), vec!["/d08", "/d09", "/d10"]);
    }

    #[test]
    fn groups_by_argument() {
        let g = expand_groups(&["/a{1...4}".into(), "/b{1...4}".into()]).unwrap();
        assert_eq!(g.len(), 2);
        assert_eq!(g[1][3], PathBuf::from("/b4"));
        let plain = expand_groups(&["/x".into(), "/y".into()]).unwrap();
        assert_eq!(plain, vec![vec![PathBuf::from("/x"), PathBuf::from("/y")]]);
    }

    #[test]
    fn bad_patterns_are_errors() {
        assert!(matches!(
            expand("/d{3...1}"),
            Err(EllipsisError::BadRange(_))
        ));
        assert!(matches!(
            expand("/d{a...c}"),
            Err(EllipsisError::BadRange(_))
        ));
        assert!(matches!(
            expand("/d{1...3"),
            Err(EllipsisError::BadRange(_))
        ));
        assert!(matches!(
            expand_groups(&["/x".into(), "/d{1...2}".into()]),
            Err(EllipsisError::Mixed(_))
        ));
        assert_eq!(expand_groups(&[]), Err(EllipsisError::Empty));
    }
}
