//! JSON helpers shared by the CloudTrail, MinIO and Ceph parsers: lenient field types that never
//! fail a record over schema drift, a header picker that keeps only named keys (so secrets such
//! as `Authorization` are never even copied out of the input), a tolerant top-level key scanner
//! for format detection, error texts without locations, and the one-event-per-object expansion of
//! requests that name several objects (batch deletes, lifecycle actions).

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::event::AccessEvent;

/// A string field as the log wrote it. Anything that is not a JSON string is kept only as its
/// kind, so an optional field of an unexpected type reads as absent while a required one can
/// still say what it found.
#[derive(Debug, Default)]
pub(crate) enum Text<'a> {
    #[default]
    Absent,
    Str(Cow<'a, str>),
    /// Present but not a string: `null`, a number, an object, ...
    Other(&'static str),
}

impl<'a> Text<'a> {
    /// The value when it is a non-empty string.
    pub(crate) fn non_empty(&self) -> Option<&str> {
        match self {
            Text::Str(s) if !s.is_empty() => Some(s),
            _ => None,
        }
    }

    /// The value when it is a non-empty string, owned.
    pub(crate) fn into_string(self) -> Option<String> {
        match self {
            Text::Str(s) if !s.is_empty() => Some(s.into_owned()),
            _ => None,
        }
    }

    /// A required string field (it may be empty).
    ///
    /// # Errors
    /// `missing field "<name>"` when absent or null, `field "<name>": expected a string,
    /// found ...` for another type.
    pub(crate) fn required(&self, name: &str) -> Result<&str, String> {
        match self {
            Text::Str(s) => Ok(s),
            Text::Absent | Text::Other("null") => Err(format!("missing field \"{name}\"")),
            Text::Other(kind) => Err(format!("field \"{name}\": expected a string, found {kind}")),
        }
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Text::Str(Cow::Owned(v)))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Text::Other("a boolean"))
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Text::Other("a number"))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Other("null"))
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Text::Other("null"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an array"))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Text::Other("an object"))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor)
    }
}

/// A non-negative integer field; a JSON number or a string of digits. Anything else (a
/// negative or fractional number, `null`, an object) reads as absent.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Num(pub(crate) Option<u64>);

struct NumVisitor;

impl<'de> Visitor<'de> for NumVisitor {
    type Value = Num;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a non-negative integer")
    }
    fn visit_u64<E>(self, v: u64) -> Result<Num, E> {
        Ok(Num(Some(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Num, E> {
        Ok(Num(u64::try_from(v).ok()))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Num, E> {
        let ok = v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v < u64::MAX as f64;
        Ok(Num(ok.then_some(v as u64)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Num, E> {
        Ok(Num(v.trim().parse().ok()))
    }
    fn visit_bool<E>(self, _: bool) -> Result<Num, E> {
        Ok(Num(None))
    }
    fn visit_unit<E>(self) -> Result<Num, E> {
        Ok(Num(None))
    }
    fn visit_none<E>(self) -> Result<Num, E> {
        Ok(Num(None))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Num, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Num, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Num(None))
    }
}

impl<'de> Deserialize<'de> for Num {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(NumVisitor)
    }
}

/// The names a [`Picked`] keeps (matched ASCII case-insensitively). At most five.
pub(crate) trait Names {
    const NAMES: &'static [&'static str];
}

/// The string values of a few named keys of a JSON object (headers, query parameters,
/// claims); every other key is skipped without being copied. An array of such objects (Ceph's
/// `http_x_headers`) is merged. Any other value reads as empty.
pub(crate) struct Picked<'a, N> {
    values: [Option<Cow<'a, str>>; 5],
    names: PhantomData<N>,
}

impl<N> Default for Picked<'_, N> {
    fn default() -> Self {
        Picked {
            values: [None, None, None, None, None],
            names: PhantomData,
        }
    }
}

impl<N> fmt::Debug for Picked<'_, N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.values.iter()).finish()
    }
}

impl<'a, N: Names> Picked<'a, N> {
    /// The non-empty value of the `i`-th name of `N::NAMES`.
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        self.values.get(i)?.as_deref().filter(|v| !v.is_empty())
    }

    /// Moves the `i`-th value out, owned.
    pub(crate) fn take(&mut self, i: usize) -> Option<String> {
        let v = self.values.get_mut(i)?.take()?;
        (!v.is_empty()).then(|| v.into_owned())
    }
}

/// A map key, borrowed when it has no escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_str(TextVisitor)? {
            Text::Str(s) => Ok(Key(s)),
            _ => Ok(Key(Cow::Borrowed(""))),
        }
    }
}

struct PickedVisitor<N>(PhantomData<N>);

impl<'de, N: Names> Visitor<'de> for PickedVisitor<N> {
    type Value = Picked<'de, N>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut picked = Picked::default();
        while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
            let slot = N::NAMES
                .iter()
                .take(5)
                .position(|name| name.eq_ignore_ascii_case(&key));
            match slot {
                Some(i) => {
                    if let Text::Str(v) = map.next_value::<Text<'de>>()? {
                        picked.values[i] = Some(v);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(picked)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut merged: Picked<'de, N> = Picked::default();
        while let Some(item) = seq.next_element::<Picked<'de, N>>()? {
            for (slot, value) in merged.values.iter_mut().zip(item.values) {
                if value.is_some() {
                    *slot = value;
                }
            }
        }
        Ok(merged)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Picked::default())
    }
}

impl<'de: 'a, 'a, N: Names> Deserialize<'de> for Picked<'a, N> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PickedVisitor(PhantomData))
    }
}

/// RFC 3339 time (`2019-08-12T21:34:37.187817748Z`; a space instead of `T` is accepted) as
/// UTC microseconds since the epoch. Sub-microsecond digits are truncated.
pub(crate) fn parse_rfc3339_us(s: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(s)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// A serde_json error as a reason without its line (the caller reports the location):
/// `not JSON: expected value at column 1` for syntax errors, the data error otherwise; a value it
/// quotes that looks like a signed URL or a credential is not shown.
pub(crate) fn json_error(e: &serde_json::Error) -> String {
    let text = e.to_string();
    let core = match text.rsplit_once(" at line ") {
        Some((core, _)) => core,
        None => &text,
    };
    let core = super::redacted(core);
    match e.classify() {
        serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
            format!("not JSON: {core} at column {}", e.column())
        }
        _ => format!("{core} at column {}", e.column()),
    }
}

/// What a JSON value starting with `first` is, for messages.
pub(crate) fn value_kind(first: Option<u8>) -> &'static str {
    match first {
        None => "nothing",
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        Some(b'-' | b'0'..=b'9') => "a number",
        Some(_) => "text that is not JSON",
    }
}

/// Strips what a JSON-array stream puts around one object on a line: a leading `[` or `,`, a
/// trailing `,` or `]`. Returns the object text, or `None` when nothing else is on the line.
pub(crate) fn strip_array_punctuation(line: &str) -> Option<&str> {
    let mut s = line.trim_matches(|c: char| c.is_ascii_whitespace() || c == '\u{feff}');
    while let Some(rest) = s.strip_prefix(['[', ',']) {
        s = rest.trim_start();
    }
    while let Some(rest) = s.strip_suffix([']', ',']) {
        s = rest.trim_end();
    }
    (!s.is_empty()).then_some(s)
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
        i += 1;
    }
    i
}

/// The index just past the string starting at `b[i] == '"'`, or `None` when cut short.
fn skip_string(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The index just past the JSON value starting at `b[i]`, or `None` when cut short.
fn skip_value(b: &[u8], i: usize) -> Option<usize> {
    match *b.get(i)? {
        b'"' => skip_string(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\r' | b'\n')
            {
                j += 1;
            }
            (j < b.len()).then_some(j)
        }
    }
}

/// The top-level keys of the JSON object that `text` starts with, as far as the text goes (a
/// file head may be cut anywhere). Keys are raw (escapes are not decoded). Empty when the
/// text does not start with `{`.
pub(crate) fn top_level_keys(text: &str) -> Vec<&str> {
    let b = text.as_bytes();
    let mut keys = Vec::new();
    let mut i = skip_ws(b, 0);
    if b.get(i) != Some(&b'{') {
        return keys;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            return keys;
        }
        let Some(end) = skip_string(b, i) else {
            return keys;
        };
        keys.push(&text[i + 1..end - 1]);
        i = skip_ws(b, end);
        if b.get(i) != Some(&b':') {
            return keys;
        }
        i = skip_ws(b, i + 1);
        let Some(next) = skip_value(b, i) else {
            return keys;
        };
        i = skip_ws(b, next);
        if b.get(i) != Some(&b',') {
            return keys;
        }
        i += 1;
    }
}

/// The byte spans of the elements of the top-level `Records` array of a CloudTrail document
/// already known to be valid JSON.
///
/// # Errors
/// `(line, reason)` when the document is not an object or has no `Records` array.
pub(crate) fn record_spans(text: &str) -> Result<Vec<(usize, usize)>, (u64, String)> {
    let b = text.as_bytes();
    let line_at = |i: usize| 1 + memchr::memchr_iter(b'\n', &b[..i.min(b.len())]).count() as u64;
    let bom = if text.starts_with('\u{feff}') { 3 } else { 0 };
    let start = skip_ws(b, bom);
    if b.get(start) != Some(&b'{') {
        return Err((
            line_at(start),
            format!(
                "expected a CloudTrail document {{\"Records\": [...]}}, found {}",
                value_kind(b.get(start).copied())
            ),
        ));
    }
    let mut i = start + 1;
    loop {
        i = skip_ws(b, i);
        if b.get(i) != Some(&b'"') {
            break;
        }
        let key_end = skip_string(b, i).unwrap_or(b.len());
        let is_records = &b[i + 1..key_end.saturating_sub(1).max(i + 1)] == b"Records";
        i = skip_ws(b, key_end);
        i = skip_ws(b, i + 1); // the ':'
        if is_records {
            if b.get(i) != Some(&b'[') {
                return Err((
                    line_at(i),
                    format!(
                        "field \"Records\": expected an array, found {}",
                        value_kind(b.get(i).copied())
                    ),
                ));
            }
            let mut spans = Vec::new();
            let mut j = i + 1;
            loop {
                j = skip_ws(b, j);
                match b.get(j) {
                    Some(b']') | None => return Ok(spans),
                    Some(b',') => j += 1,
                    Some(_) => {
                        let end = skip_value(b, j).unwrap_or(b.len());
                        spans.push((j, end));
                        j = end;
                    }
                }
            }
        }
        i = skip_value(b, i).unwrap_or(b.len());
        i = skip_ws(b, i);
        if b.get(i) == Some(&b',') {
            i += 1;
        }
    }
    Err((line_at(start), "missing field \"Records\"".to_owned()))
}

/// One object of a request that names several (a batch delete, a lifecycle action): MinIO's
/// `api.objects`, Ceph's `op_data.objects`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListedObject {
    pub(crate) key: String,
    pub(crate) version_id: Option<String>,
    /// The object's own status, when the log gives one (Ceph does).
    pub(crate) status: Option<u16>,
}

/// The field names of a [`ListedObject`] in one format's array elements.
pub(crate) struct ListedNames {
    pub(crate) key: &'static str,
    pub(crate) version_id: &'static str,
    pub(crate) status: Option<&'static str>,
}

/// The objects of `list`, an array of objects named as `names` says. Anything else (absent,
/// `null`, another type: schema drift) lists nothing; an element without a non-empty key is
/// skipped. Only the named fields are read.
pub(crate) fn listed_objects(list: &serde_json::Value, names: &ListedNames) -> Vec<ListedObject> {
    let Some(items) = list.as_array() else {
        return Vec::new();
    };
    let text = |o: &serde_json::Map<String, serde_json::Value>, name: &str| {
        o.get(name)
            .and_then(serde_json::Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    items
        .iter()
        .filter_map(serde_json::Value::as_object)
        .filter_map(|o| {
            let status = names.status.and_then(|n| match o.get(n)? {
                serde_json::Value::Number(n) => n.as_u64(),
                serde_json::Value::String(s) => s.trim().parse().ok(),
                _ => None,
            });
            Some(ListedObject {
                key: text(o, names.key)?,
                version_id: text(o, names.version_id),
                status: status.filter(|s| (100..=599).contains(s)).map(|s| s as u16),
            })
        })
        .collect()
}

/// The events of a request that names `objects`: one per object, each `request` with the
/// object's key, version and (when the log gives it) status, as an S3 access log writes a
/// `BATCH.DELETE.OBJECT` record per key. The request's byte counts go with the first event
/// only, so that totals are not multiplied. No objects: `request` alone.
pub(crate) fn one_per_object(request: AccessEvent, objects: Vec<ListedObject>) -> Vec<AccessEvent> {
    if objects.is_empty() {
        return vec![request];
    }
    let mut out = Vec::with_capacity(objects.len());
    for (i, o) in objects.into_iter().enumerate() {
        let mut e = request.clone();
        if i > 0 {
            (e.bytes_sent, e.bytes_received) = (None, None);
        }
        e.key = Some(o.key);
        e.version_id = o.version_id;
        e.status = o.status.or(request.status);
        out.push(e);
    }
    out
}

/// The source object of a copy, from the `x-amz-copy-source` header a request carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CopySource {
    pub(crate) bucket: String,
    pub(crate) key: String,
    pub(crate) version_id: Option<String>,
}

impl CopySource {
    /// Reads a header value: `bucket/key` or `/bucket/key`, URL-encoded, optionally
    /// `?versionId=...`. `None` for a value that names no key, or an access point ARN (which
    /// names no bucket).
    pub(crate) fn of_header(value: &str) -> Option<CopySource> {
        use percent_encoding::percent_decode_str;
        let value = value.trim();
        let value = value.strip_prefix('/').unwrap_or(value);
        if value.starts_with("arn:") {
            return None;
        }
        let (path, query) = value.split_once('?').unwrap_or((value, ""));
        let decoded = percent_decode_str(path).decode_utf8().ok()?;
        let (bucket, key) = decoded.split_once('/')?;
        if bucket.is_empty() || key.is_empty() {
            return None;
        }
        let version_id = query
            .split('&')
            .find_map(|p| p.strip_prefix("versionId="))
            .filter(|v| !v.is_empty())
            .map(|v| percent_decode_str(v).decode_utf8_lossy().into_owned());
        Some(CopySource {
            bucket: bucket.to_owned(),
            key: key.to_owned(),
            version_id,
        })
    }

    /// The `copy-source` event of the copy whose destination event is `dest`: the same
    /// request, reading this object. No bytes or size: they go with the destination, as in an
    /// S3 access log's `REST.COPY.OBJECT_GET` record.
    pub(crate) fn event(self, dest: &AccessEvent) -> AccessEvent {
        AccessEvent {
            op: crate::event::OpClass::CopySource,
            bucket: self.bucket,
            key: Some(self.key),
            version_id: self.version_id,
            bytes_sent: None,
            bytes_received: None,
            object_size: None,
            config: None,
            ..dest.clone()
        }
    }
}
