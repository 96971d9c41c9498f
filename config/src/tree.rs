//! A TOML document as a tree of values that remember where they are, and a
//! small checked reader over it.
//!
//! Deserializing straight into `#[serde(deny_unknown_fields)]` structs stops
//! at the first error and reports it by byte span only. Instead the text is
//! read into a [`Node`] tree (every value wrapped in [`toml::Spanned`]), and
//! [`Ctx`] walks it table by table: it rejects unknown keys, checks types and
//! ranges, and records each problem as a [`ConfigError`] with its
//! [`KeyPath`] and line, so that one pass reports every mistake.

use std::ops::Range;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use crate::error::{ConfigError, KeyPath, Pos};

/// The private key under which the `toml` deserializer hands out datetimes.
const DATETIME_KEY: &str = "$__toml_private_datetime";

/// One TOML value.
#[derive(Debug)]
pub(crate) enum Node {
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    Datetime(String),
    Array(Vec<Located>),
    /// Keys in document order.
    Table(Vec<(String, Located)>),
}

impl Node {
    /// The TOML type as an article and noun, for messages.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Node::Str(_) => "a string",
            Node::Int(_) => "an integer",
            Node::Float(_) => "a float",
            Node::Bool(_) => "a boolean",
            Node::Datetime(_) => "a datetime",
            Node::Array(_) => "an array",
            Node::Table(_) => "a table",
        }
    }

    /// The value written back as short TOML, for messages.
    pub(crate) fn short(&self) -> String {
        let s = match self {
            Node::Str(s) => format!("{s:?}"),
            Node::Int(i) => i.to_string(),
            Node::Float(x) => x.to_string(),
            Node::Bool(b) => b.to_string(),
            Node::Datetime(d) => d.clone(),
            Node::Array(a) => {
                let items: Vec<String> = a.iter().map(|n| n.node.short()).collect();
                format!("[{}]", items.join(", "))
            }
            Node::Table(_) => "{...}".to_string(),
        };
        if s.chars().count() > 60 {
            let cut: String = s.chars().take(57).collect();
            format!("{cut}...")
        } else {
            s
        }
    }
}

/// A [`Node`] and its byte range in the text.
///
/// Like `toml::Spanned`, but tolerant of values the TOML deserializer has no
/// span for (implicit tables such as `fdb` in a file that only has
/// `[[fdb.static]]`), where `toml::Spanned` fails to deserialize.
#[derive(Debug)]
pub(crate) struct Located {
    pub(crate) span: Option<Range<usize>>,
    pub(crate) node: Node,
}

// The toml deserializer hands out spans to a struct with these names; this
// is the protocol `toml::Spanned` (serde_spanned) uses. When no span is
// known it deserializes the plain value instead, which `LocatedVisitor`
// accepts as well. A test below guards the protocol.
const SPANNED_NAME: &str = "$__serde_spanned_private_Spanned";
const SPANNED_START: &str = "$__serde_spanned_private_start";
const SPANNED_END: &str = "$__serde_spanned_private_end";
const SPANNED_VALUE: &str = "$__serde_spanned_private_value";
const SPANNED_FIELDS: &[&str] = &[SPANNED_START, SPANNED_END, SPANNED_VALUE];

impl<'de> Deserialize<'de> for Located {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_struct(SPANNED_NAME, SPANNED_FIELDS, LocatedVisitor)
    }
}

impl<'de> Deserialize<'de> for Node {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(LocatedVisitor).map(|l| l.node)
    }
}

struct LocatedVisitor;

fn plain<E>(node: Node) -> Result<Located, E> {
    Ok(Located { span: None, node })
}

impl<'de> Visitor<'de> for LocatedVisitor {
    type Value = Located;
    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any TOML value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Located, E> {
        plain(Node::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Located, E> {
        plain(Node::Int(v))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Located, E> {
        let v = i64::try_from(v).map_err(|_| E::custom("integer too large"))?;
        plain(Node::Int(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Located, E> {
        plain(Node::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Located, E> {
        plain(Node::Str(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Located, E> {
        plain(Node::Str(v))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Located, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<Located>()? {
            items.push(item);
        }
        plain(Node::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Located, A::Error> {
        let Some(first) = map.next_key::<String>()? else { return plain(Node::Table(Vec::new())) };
        if first == SPANNED_START {
            let start: usize = map.next_value()?;
            let _ = map.next_key::<String>()?;
            let end: usize = map.next_value()?;
            let _ = map.next_key::<String>()?;
            let node: Node = map.next_value()?;
            return Ok(Located { span: Some(start..end), node });
        }
        if first == DATETIME_KEY {
            let text: String = map.next_value()?;
            return plain(Node::Datetime(text));
        }
        let mut entries = vec![(first, map.next_value::<Located>()?)];
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value::<Located>()?;
            entries.push((key, value));
        }
        plain(Node::Table(entries))
    }
}

/// Maps byte offsets to line and column.
pub(crate) struct Lines<'s> {
    src: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    pub(crate) fn new(src: &'s str) -> Lines<'s> {
        let mut starts = vec![0];
        starts.extend(src.match_indices('\n').map(|(i, _)| i + 1));
        Lines { src, starts }
    }

    pub(crate) fn pos(&self, offset: usize) -> Pos {
        let offset = offset.min(self.src.len());
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let column = self.src.get(start..offset).map_or(offset - start, |s| s.chars().count());
        Pos { line: line as u32 + 1, column: column as u32 + 1 }
    }
}

/// Parses `src` into a tree, or gives the TOML syntax error (boxed: it is
/// the rare path and `ConfigError` is large).
pub(crate) fn parse(src: &str) -> Result<Located, Box<ConfigError>> {
    toml::from_str::<Located>(src).map_err(|e| {
        let pos = e.span().map(|s| Lines::new(src).pos(s.start)).unwrap_or(Pos { line: 1, column: 1 });
        Box::new(ConfigError::Toml { line: pos.line, column: pos.column, message: one_line(e.message()) })
    })
}

/// The parser's message on one line, so each error stays one line.
fn one_line(msg: &str) -> String {
    msg.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ")
}

/// A table being read: its entries plus how to name it in errors.
pub(crate) struct Tbl<'a> {
    pub(crate) entries: &'a [(String, Located)],
    /// The table's text (its header onwards), when known.
    pub(crate) span: Option<Range<usize>>,
    pub(crate) table: String,
    pub(crate) name: Option<String>,
    /// Index in its array of tables (`[[port]]`), 0 for plain tables.
    pub(crate) index: usize,
}

impl<'a> Tbl<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a Located> {
        self.entries.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    pub(crate) fn has(&self, key: &str) -> bool {
        self.get(key).is_some()
    }
}

/// `Err(())` means "already reported": the caller skips checks that depend
/// on the value.
pub(crate) type Got<T> = Result<Option<T>, ()>;

/// The walk's state: the text (for positions) and the errors so far.
pub(crate) struct Ctx<'s> {
    lines: Lines<'s>,
    pub(crate) errors: Vec<ConfigError>,
}

impl<'s> Ctx<'s> {
    pub(crate) fn new(src: &'s str) -> Ctx<'s> {
        Ctx { lines: Lines::new(src), errors: Vec::new() }
    }

    pub(crate) fn push(&mut self, e: ConfigError) {
        self.errors.push(e);
    }

    /// A key path for `key` in `t`, positioned at `span`, or at the table
    /// when `span` is unknown.
    pub(crate) fn at(&self, t: &Tbl<'_>, key: &str, span: &Option<Range<usize>>) -> KeyPath {
        KeyPath {
            table: t.table.clone(),
            name: t.name.clone(),
            key: key.to_string(),
            pos: span.as_ref().or(t.span.as_ref()).map(|s| self.lines.pos(s.start)),
        }
    }

    /// A key path for `key` in `t`, positioned at the value when present and
    /// at the table header otherwise.
    pub(crate) fn at_key(&self, t: &Tbl<'_>, key: &str) -> KeyPath {
        let span = t.get(key).and_then(|v| v.span.clone());
        self.at(t, key, &span)
    }

    /// Views `node` as a table named `table`, reporting a type error
    /// otherwise. `key_in_parent` is used to name the bad value.
    pub(crate) fn table<'a>(
        &mut self,
        node: &'a Located,
        table: String,
        name: Option<String>,
        parent_at: KeyPath,
    ) -> Option<Tbl<'a>> {
        match &node.node {
            Node::Table(entries) => Some(Tbl { entries, span: node.span.clone(), table, name, index: 0 }),
            other => {
                self.push(ConfigError::WrongType {
                    at: parent_at,
                    expected: "a table",
                    found: other.type_name(),
                    value: other.short(),
                });
                None
            }
        }
    }

    /// Reports every key of `t` that is not in `known`.
    pub(crate) fn check_keys(&mut self, t: &Tbl<'_>, known: &[&'static str]) {
        for (k, v) in t.entries {
            if !known.contains(&k.as_str()) {
                let at = self.at(t, k, &v.span);
                self.push(ConfigError::UnknownKey { at, suggestion: suggest(k, known) });
            }
        }
    }

    /// Reports `v`, the value of `key`, as not of the `expected` type.
    pub(crate) fn wrong_type(&mut self, t: &Tbl<'_>, key: &str, v: &Located, expected: &'static str) {
        let at = self.at(t, key, &v.span);
        self.push(ConfigError::WrongType { at, expected, found: v.node.type_name(), value: v.node.short() });
    }

    /// Reports `key` as missing from `t`.
    pub(crate) fn missing(&mut self, t: &Tbl<'_>, key: &str, why: impl Into<String>) {
        let at = self.at(t, key, &None);
        self.push(ConfigError::MissingKey { at, why: why.into() });
    }

    /// Turns an absent value into a [`ConfigError::MissingKey`].
    pub(crate) fn required<T>(&mut self, t: &Tbl<'_>, key: &str, why: &str, got: Got<T>) -> Option<T> {
        match got {
            Ok(Some(v)) => Some(v),
            Ok(None) => {
                self.missing(t, key, why);
                None
            }
            Err(()) => None,
        }
    }

    /// A string value.
    pub(crate) fn string(&mut self, t: &Tbl<'_>, key: &str) -> Got<String> {
        let Some(v) = t.get(key) else { return Ok(None) };
        match &v.node {
            Node::Str(s) => Ok(Some(s.clone())),
            _ => {
                self.wrong_type(t, key, v, "a string");
                Err(())
            }
        }
    }

    /// A boolean value.
    pub(crate) fn boolean(&mut self, t: &Tbl<'_>, key: &str) -> Got<bool> {
        let Some(v) = t.get(key) else { return Ok(None) };
        match &v.node {
            Node::Bool(b) => Ok(Some(*b)),
            _ => {
                self.wrong_type(t, key, v, "a boolean (true or false)");
                Err(())
            }
        }
    }

    /// An integer in `min..=max`.
    pub(crate) fn int(&mut self, t: &Tbl<'_>, key: &str, min: i64, max: i64) -> Got<i64> {
        let Some(v) = t.get(key) else { return Ok(None) };
        match &v.node {
            Node::Int(i) if (min..=max).contains(i) => Ok(Some(*i)),
            Node::Int(i) => {
                let at = self.at(t, key, &v.span);
                self.push(ConfigError::OutOfRange { at, value: *i, min, max });
                Err(())
            }
            _ => {
                self.wrong_type(t, key, v, "an integer");
                Err(())
            }
        }
    }

    /// A power of two in `min..=max` (both powers of two themselves).
    pub(crate) fn pow2(&mut self, t: &Tbl<'_>, key: &str, min: i64, max: i64) -> Got<u32> {
        let v = self.int(t, key, min, max)?;
        match v {
            Some(n) if (n as u64).is_power_of_two() => Ok(Some(n as u32)),
            Some(n) => {
                let at = self.at_key(t, key);
                self.push(ConfigError::NotPowerOfTwo { at, value: n });
                Err(())
            }
            None => Ok(None),
        }
    }

    /// A VLAN id, 1..=4094.
    pub(crate) fn vlan(&mut self, t: &Tbl<'_>, key: &str) -> Got<u16> {
        let Some(v) = t.get(key) else { return Ok(None) };
        self.vlan_node(t, key, v).map(Some)
    }

    /// Checks one node as a VLAN id; `key` names it (may carry an index).
    pub(crate) fn vlan_node(&mut self, t: &Tbl<'_>, key: &str, v: &Located) -> Result<u16, ()> {
        match &v.node {
            Node::Int(i) if (1..=4094).contains(i) => Ok(*i as u16),
            Node::Int(i) => {
                let at = self.at(t, key, &v.span);
                self.push(ConfigError::VlanOutOfRange { at, value: *i });
                Err(())
            }
            _ => {
                self.wrong_type(t, key, v, "a VLAN id (integer 1..=4094)");
                Err(())
            }
        }
    }

    /// One of the words in `choices`.
    pub(crate) fn choice(&mut self, t: &Tbl<'_>, key: &str, choices: &'static [&'static str]) -> Got<&'static str> {
        let Some(s) = self.string(t, key)? else { return Ok(None) };
        match choices.iter().find(|c| **c == s) {
            Some(c) => Ok(Some(c)),
            None => {
                let at = self.at_key(t, key);
                self.push(ConfigError::BadChoice { at, value: s, expected: choices });
                Err(())
            }
        }
    }

    /// An array, whose elements the caller checks.
    pub(crate) fn array<'a>(&mut self, t: &Tbl<'a>, key: &str) -> Got<&'a [Located]> {
        let Some(v) = t.get(key) else { return Ok(None) };
        match &v.node {
            Node::Array(items) => Ok(Some(items.as_slice())),
            _ => {
                self.wrong_type(t, key, v, "an array");
                Err(())
            }
        }
    }

    /// The tables of an array of tables such as `[[port]]` (`key` in `t`),
    /// named `table_prefix[i]` and by their `name` key when it is a string.
    /// Elements that are not tables are reported and left out.
    pub(crate) fn tables<'a>(&mut self, t: &Tbl<'a>, key: &str, table_prefix: &str) -> Vec<Tbl<'a>> {
        let Some(items) = (match t.get(key) {
            None => None,
            Some(v) => match &v.node {
                Node::Array(items) => Some(items),
                _ => {
                    self.wrong_type(t, key, v, "an array of tables");
                    None
                }
            },
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let table = format!("{table_prefix}[{i}]");
            let name = match &item.node {
                Node::Table(entries) => entries.iter().find_map(|(k, v)| match (k.as_str(), &v.node) {
                    ("name", Node::Str(s)) => Some(s.clone()),
                    _ => None,
                }),
                _ => None,
            };
            let pos = item.span.as_ref().map(|s| self.lines.pos(s.start));
            let at = KeyPath { table: table.clone(), name: None, key: String::new(), pos };
            if let Some(mut tb) = self.table(item, table, name, at) {
                tb.index = i;
                out.push(tb);
            }
        }
        out
    }
}

/// A known key close in spelling to `key` (edit distance at most 2, or 1 for
/// short keys), for "did you mean" hints.
pub(crate) fn suggest(key: &str, known: &[&'static str]) -> Option<&'static str> {
    let limit = if key.len() <= 4 { 1 } else { 2 };
    known
        .iter()
        .map(|k| (edit_distance(key, k), *k))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

/// Edit distance counting an adjacent swap as one edit (optimal string
/// alignment), so `prot` is one edit from `port`.
fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for i in 0..=a.len() {
        d[i * w] = i;
    }
    for (j, cell) in d.iter_mut().enumerate().take(w) {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1).min(d[i * w + j - 1] + 1).min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
        }
    }
    d[a.len() * w + b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns() {
        let l = Lines::new("ab\ncdé\nx");
        assert_eq!(l.pos(0), Pos { line: 1, column: 1 });
        assert_eq!(l.pos(3), Pos { line: 2, column: 1 });
        assert_eq!(l.pos(7), Pos { line: 2, column: 4 });
        assert_eq!(l.pos(8), Pos { line: 3, column: 1 });
    }

    #[test]
    fn suggestions() {
        let known = ["vlan", "allowed_vlans", "native_vlan", "name"];
        assert_eq!(suggest("vlam", &known), Some("vlan"));
        assert_eq!(suggest("allowed_vlan", &known), Some("allowed_vlans"));
        assert_eq!(suggest("colour", &known), None);
        assert_eq!(suggest("prot", &["port", "vlan"]), Some("port"));
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("ab", "ba"), 1);
        assert_eq!(edit_distance("", "abc"), 3);
    }

    #[test]
    fn tree_keeps_order_types_and_datetimes() {
        let src = "b = 1\na = \"x\"\nd = 1979-05-27T07:32:00Z\n[t]\nf = 1.5\nl = [true]\n";
        let root = parse(src).unwrap();
        let Node::Table(entries) = &root.node else { panic!("not a table") };
        let keys: Vec<&str> = entries.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(keys, ["b", "a", "d", "t"]);
        assert!(matches!(&entries[2].1.node, Node::Datetime(d) if d.starts_with("1979")));
        assert_eq!(entries[3].1.node.short(), "{...}");
        assert_eq!(entries[1].1.node.type_name(), "a string");
        assert_eq!(entries[1].1.span, Some(10..13));
        assert_eq!(&src[entries[1].1.span.clone().unwrap()], "\"x\"");
    }

    #[test]
    fn implicit_tables_have_no_span_but_their_values_do() {
        // `a` exists only through the dotted header; `toml::Spanned` cannot
        // represent it, `Located` must.
        let src = "[[a.b]]\nc = 1\n[x.y]\nz = 2\nd.e = 3\n";
        let root = parse(src).unwrap();
        let Node::Table(top) = &root.node else { panic!() };
        let (_, a) = &top[0];
        assert!(a.span.is_none());
        let Node::Table(a) = &a.node else { panic!() };
        let Node::Array(items) = &a[0].1.node else { panic!() };
        assert!(items[0].span.is_some());
        let Node::Table(item) = &items[0].node else { panic!() };
        assert_eq!(item[0].1.span, Some(12..13));
        assert_eq!(top.len(), 2);
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let e = parse("a = 1\nb = = 2\n").unwrap_err();
        match *e {
            ConfigError::Toml { line, column, message } => {
                assert_eq!(line, 2);
                assert!(!message.contains('\n'), "{message:?}");
                assert!(column >= 4, "column {column}");
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
