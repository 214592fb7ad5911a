//! A line diff of two texts (two decoded objects as YAML), in hunks with
//! context, the way `diff -u` shows it. The caller masks Secret values
//! before: this module sees only what it may show.

use serde::Serialize;
use similar::{ChangeTag, TextDiff};

/// Lines of context around each change.
pub const CONTEXT: usize = 3;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Tag {
    Same,
    Removed,
    Added,
}

/// One line of a hunk, with its 1-based number on each side it is on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    pub tag: Tag,
    pub old_line: Option<usize>,
    pub new_line: Option<usize>,
    /// Without its line ending.
    pub text: String,
}

/// Every line of both texts in diff order: the equal ones once, the removed
/// before the added (the page shows a whole object this way).
pub fn all(old: &str, new: &str) -> Vec<Line> {
    let diff = TextDiff::from_lines(old, new);
    diff.iter_all_changes().map(line).collect()
}

fn line(c: similar::Change<&str>) -> Line {
    Line {
        tag: match c.tag() {
            ChangeTag::Equal => Tag::Same,
            ChangeTag::Delete => Tag::Removed,
            ChangeTag::Insert => Tag::Added,
        },
        old_line: c.old_index().map(|i| i + 1),
        new_line: c.new_index().map(|i| i + 1),
        text: c.value().trim_end_matches(['\n', '\r']).to_string(),
    }
}

/// Changed lines with up to [`CONTEXT`] lines around them; hunks in order.
pub fn hunks(old: &str, new: &str) -> Vec<Vec<Line>> {
    let diff = TextDiff::from_lines(old, new);
    diff.grouped_ops(CONTEXT)
        .iter()
        .map(|group| {
            group
                .iter()
                .flat_map(|op| diff.iter_changes(op))
                .map(line)
                .collect()
        })
        .collect()
}

/// The hunks as `diff -u` text (without the file header lines).
pub fn unified(old: &str, new: &str) -> String {
    let mut out = String::new();
    for h in hunks(old, new) {
        let first = |f: fn(&Line) -> Option<usize>| h.iter().find_map(f).unwrap_or(0);
        let count = |t: Tag| {
            h.iter()
                .filter(|l| l.tag == t || l.tag == Tag::Same)
                .count()
        };
        out.push_str(&format!(
            "@@ -{},{} +{},{} @@\n",
            first(|l| l.old_line),
            count(Tag::Removed),
            first(|l| l.new_line),
            count(Tag::Added)
        ));
        for l in &h {
            let sign = match l.tag {
                Tag::Same => ' ',
                Tag::Removed => '-',
                Tag::Added => '+',
            };
            out.push(sign);
            out.push_str(&l.text);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_changed_line_in_context() {
        let old: String = (1..=10).map(|i| format!("l{i}\n")).collect();
        let new = old.replace("l5\n", "L5\n");
        let h = hunks(&old, &new);
        assert_eq!(h.len(), 1);
        let tags: Vec<_> = h[0].iter().map(|l| (l.tag, l.text.as_str())).collect();
        assert_eq!(
            tags,
            [
                (Tag::Same, "l2"),
                (Tag::Same, "l3"),
                (Tag::Same, "l4"),
                (Tag::Removed, "l5"),
                (Tag::Added, "L5"),
                (Tag::Same, "l6"),
                (Tag::Same, "l7"),
                (Tag::Same, "l8"),
            ]
        );
        assert_eq!(
            unified(&old, &new),
            "@@ -2,7 +2,7 @@\n l2\n l3\n l4\n-l5\n+L5\n l6\n l7\n l8\n"
        );
        assert!(hunks(&old, &old).is_empty());
        let every = all(&old, &new);
        assert_eq!(every.len(), 11);
        assert_eq!((every[4].tag, every[4].text.as_str()), (Tag::Removed, "l5"));
        assert_eq!((every[5].tag, every[5].text.as_str()), (Tag::Added, "L5"));
    }
}
