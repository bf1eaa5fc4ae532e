//! Typed CSV records straight from the parser's byte fields.
//!
//! The csv crate's `ByteRecord::deserialize` with a header deserializes a record
//! as a map: per record and field it validates the column name as UTF-8 and
//! matches it against the struct's field names, and it validates every value as
//! UTF-8 before parsing it. For narrow numeric records that was most of the cost
//! of reading them (profiled on the bids benchmark: three fifths of the time).
//! Here a struct with named fields is read as a sequence instead, through a
//! column for each field worked out once per file from its header, and numbers
//! are parsed from their bytes. Everything else a field can hold (strings, bools,
//! floats, options, unit enums, newtypes) is read as the csv crate reads it.

use std::fmt;

use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, SeqAccess, Visitor};

/// For each field of a struct, in declaration order, the column that holds it;
/// or a tuple's fields, by position.
#[derive(Debug, Clone)]
pub(crate) struct Columns(Vec<usize>, Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Named,
    Positional,
}

impl Columns {
    /// Whether the fields are the first columns, in order: a record's line can
    /// then be read field after field as it is split (see [`InOrder`]).
    pub(crate) fn in_order(&self) -> bool {
        self.0.iter().enumerate().all(|(i, &c)| i == c)
    }

    /// The first `n` columns, in order: a tuple's fields, read by position.
    pub(crate) fn first(n: usize) -> Self {
        Columns((0..n).collect(), Kind::Positional)
    }

    /// Whether they are a tuple's. A tuple's element may itself take several
    /// fields (`((u32, u32), f64)`, or a `Vec` taking the rest of the record),
    /// which only the csv crate reads, one field each here: a tuple record read
    /// here in error is read again by the csv crate, whose result stands.
    pub(crate) fn positional(&self) -> bool {
        self.1 == Kind::Positional
    }

    /// The columns of `fields` in a file whose header is `header` (which names
    /// each, as the header check made sure), or, without a header, the first
    /// columns in order.
    pub(crate) fn new(fields: &[&str], header: Option<&csv::ByteRecord>) -> Option<Self> {
        match header {
            None => Some(Columns((0..fields.len()).collect(), Kind::Named)),
            Some(header) => fields
                .iter()
                .map(|f| header.iter().position(|c| c == f.as_bytes()))
                .collect::<Option<Vec<_>>>()
                .map(|columns| Columns(columns, Kind::Named)),
        }
    }
}

/// Why a record did not deserialize: the column (counted from 0), when one field
/// is to blame, and what is wrong with it.
/// Boxed, so that a field's result is two words, returned in registers.
#[derive(Debug)]
pub(crate) struct FieldError(Box<Blame>);

#[derive(Debug)]
pub(crate) struct Blame {
    pub(crate) column: Option<usize>,
    pub(crate) reason: String,
}

impl FieldError {
    #[cold]
    fn new(column: Option<usize>, reason: String) -> Self {
        FieldError(Box::new(Blame { column, reason }))
    }

    #[cold]
    fn in_column(mut self, column: usize) -> Self {
        self.0.column = Some(column);
        self
    }

    pub(crate) fn blame(self) -> Blame {
        *self.0
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.reason)
    }
}

impl std::error::Error for FieldError {}

impl de::Error for FieldError {
    fn custom<M: fmt::Display>(message: M) -> Self {
        FieldError::new(None, message.to_string())
    }
}

/// A record's fields as bytes: the csv crate's `ByteRecord`, or a line split
/// where it has no quotes (see `csv_lines`).
pub(crate) trait Fields {
    fn len(&self) -> usize;
    fn get(&self, column: usize) -> Option<&[u8]>;

    fn iter(&self) -> impl Iterator<Item = &[u8]> {
        (0..self.len()).filter_map(|c| self.get(c))
    }

    /// The record as one line of unquoted fields and their delimiter, when it
    /// is one that has not been split.
    fn line(&self) -> Option<(&[u8], u8)> {
        None
    }

    /// The fields as a `ByteRecord`, copied into `scratch` if they are not one.
    fn as_byte_record<'a>(&'a self, scratch: &'a mut csv::ByteRecord) -> &'a csv::ByteRecord {
        scratch.clear();
        self.iter().for_each(|field| scratch.push_field(field));
        scratch
    }
}

impl Fields for csv::ByteRecord {
    fn len(&self) -> usize {
        csv::ByteRecord::len(self)
    }

    #[inline]
    fn get(&self, column: usize) -> Option<&[u8]> {
        csv::ByteRecord::get(self, column)
    }

    fn as_byte_record<'a>(&'a self, _: &'a mut csv::ByteRecord) -> &'a csv::ByteRecord {
        self
    }
}

/// `record` as a `T`, its fields taken from `columns`, and how many fields the
/// record has.
#[inline]
pub(crate) fn deserialize<T: DeserializeOwned>(
    record: &impl Fields,
    columns: &Columns,
) -> Result<(T, usize), FieldError> {
    match record.line() {
        Some((line, delimiter)) => {
            let mut fields = InOrder { rest: Some(line), delimiter, left: columns.0.len(), column: 0 };
            let value = T::deserialize(&mut fields)?;
            // The columns after the struct's (none, unless it reads a projection).
            let after = fields.rest.map_or(0, |rest| rest.iter().filter(|&&b| b == delimiter).count() + 1);
            Ok((value, fields.column + after))
        }
        None => Ok((T::deserialize(Record { record, columns: &columns.0, next: 0 })?, record.len())),
    }
}

/// A line whose columns are the struct's fields in order, read as the sequence of
/// them, each field split off the line as it is read: one pass, as a hand-written
/// reader goes.
struct InOrder<'r> {
    rest: Option<&'r [u8]>,
    delimiter: u8,
    /// Fields still to read, and the column of the next.
    left: usize,
    column: usize,
}

impl<'de> de::Deserializer<'de> for &mut InOrder<'_> {
    type Error = FieldError;

    #[inline(always)]
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_seq(self)
    }

    // What a derived struct calls: straight to the sequence of its fields.
    #[inline(always)]
    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_seq(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map enum identifier ignored_any
    }
}

impl<'de> SeqAccess<'de> for &mut InOrder<'_> {
    type Error = FieldError;

    // Inlined into the derived `visit_seq`, so that a record's fields are read in
    // one function, as a hand-written reader reads them.
    #[inline(always)]
    fn next_element<T: de::Deserialize<'de>>(&mut self) -> Result<Option<T>, FieldError> {
        self.next_element_seed(std::marker::PhantomData)
    }

    #[inline(always)]
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, FieldError> {
        if self.left == 0 {
            return Ok(None);
        }
        let column = self.column;
        let Some(rest) = self.rest else {
            return Err(FieldError::new(Some(column), "the record has no such column".to_owned()));
        };
        let mut len = 0;
        let value = seed.deserialize(LineField { rest, delimiter: self.delimiter, len: &mut len });
        // The field ends at `len`, at a delimiter or at the end of the line.
        (self.rest, self.left, self.column) = (rest.get(len + 1..), self.left - 1, column + 1);
        value.map(Some).map_err(|e| e.in_column(column))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.left)
    }
}

/// The next field of a line, not yet split off the rest of it: an integer is
/// split off as its digits are read, in one pass, as a hand-written reader
/// goes; anything else is split at the next delimiter and read as a [`Field`].
/// `len` is set to the field's length.
struct LineField<'r, 'l> {
    rest: &'r [u8],
    delimiter: u8,
    len: &'l mut usize,
}

impl<'r> LineField<'r, '_> {
    #[inline(always)]
    fn split(self) -> Field<'r> {
        let len = self.rest.iter().position(|&b| b == self.delimiter).unwrap_or(self.rest.len());
        *self.len = len;
        Field { bytes: &self.rest[..len] }
    }

    /// The field as an integer, if it is 1 to 19 ASCII digits (which cannot
    /// overflow a `u64`), after a `-` if `signed`, up to the delimiter or the end
    /// of the line: the digits' value, and whether a `-` came first.
    #[inline(always)]
    fn digits(&mut self, signed: bool) -> Option<(u64, bool)> {
        let negative = signed && self.rest.first() == Some(&b'-');
        let sign = usize::from(negative);
        let mut n: u64 = 0;
        let mut len = 0;
        for &b in &self.rest[sign..] {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                if b == self.delimiter {
                    break;
                }
                return None;
            }
            n = n.wrapping_mul(10).wrapping_add(u64::from(digit));
            len += 1;
        }
        if len == 0 || len > 19 {
            return None;
        }
        *self.len = sign + len;
        Some((n, negative))
    }

    /// The field as an `f64`, if it is a plain decimal (`-12.5`: a `-` perhaps,
    /// digits, perhaps a `.` and more digits) exact enough to be read by one
    /// division, up to the delimiter or the end of the line; `None` for anything
    /// else, which `str::parse` reads. The result is `str::parse`'s: the digits
    /// without the point (at most 2^53) and ten to the number of decimals (at most
    /// 10^22) are both exact as `f64`s, and IEEE division rounds their exact
    /// quotient correctly, as `str::parse` rounds the decimal (Clinger's fast path,
    /// which `str::parse` takes too, after more general work).
    #[inline(always)]
    fn plain_decimal(&mut self) -> Option<f64> {
        const POWERS_OF_TEN: [f64; 23] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18,
            1e19, 1e20, 1e21, 1e22,
        ];
        let negative = self.rest.first() == Some(&b'-');
        let sign = usize::from(negative);
        let bytes = &self.rest[sign..];
        // The digits before the point, then those after it, into one integer.
        let mut mantissa = 0u64;
        let mut digits_through = |mut at: usize| {
            while let Some(digit) = bytes.get(at).map(|b| b.wrapping_sub(b'0')).filter(|&d| d <= 9) {
                mantissa = mantissa.wrapping_mul(10).wrapping_add(u64::from(digit));
                at += 1;
            }
            at
        };
        let whole = digits_through(0);
        let (end, decimals) = match bytes.get(whole) {
            Some(b'.') => {
                let end = digits_through(whole + 1);
                (end, end - whole - 1)
            }
            _ => (whole, 0),
        };
        let ends_field = bytes.get(end).is_none_or(|&b| b == self.delimiter);
        // Digits on both sides of a point; 19 digits cannot overflow a `u64`.
        let well_formed = ends_field && whole > 0 && (end == whole || decimals > 0) && whole + decimals <= 19;
        if !well_formed || mantissa > 1 << 53 || decimals >= POWERS_OF_TEN.len() {
            return None;
        }
        *self.len = sign + end;
        let value = mantissa as f64 / POWERS_OF_TEN[decimals];
        Some(if negative { -value } else { value })
    }
}

/// Integers split off a line as they are parsed; anything else (a `+`, a space,
/// 20 digits, a value out of range, junk) is split off and read as [`Field`]
/// reads it, which says what is wrong, out of line.
macro_rules! line_integers {
    ($($method:ident $visit:ident $t:ty, $signed:literal;)*) => {$(
        #[inline(always)]
        fn $method<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, FieldError> {
            #[cold]
            #[inline(never)]
            fn otherwise<'de, V: Visitor<'de>>(field: LineField<'_, '_>, visitor: V) -> Result<V::Value, FieldError> {
                field.split().$method(visitor)
            }
            let value = match self.digits($signed) {
                Some((n, false)) => <$t>::try_from(n).ok(),
                Some((n, true)) => 0i64.checked_sub_unsigned(n).and_then(|n| <$t>::try_from(n).ok()),
                None => None,
            };
            match value {
                Some(n) => visitor.$visit(n),
                None => otherwise(self, visitor),
            }
        }
    )*};
}

macro_rules! split_first {
    ($($method:ident($($arg:ident: $t:ty),*);)*) => {$(
        #[inline(always)]
        fn $method<V: Visitor<'de>>(self, $($arg: $t,)* visitor: V) -> Result<V::Value, FieldError> {
            self.split().$method($($arg,)* visitor)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for LineField<'_, '_> {
    type Error = FieldError;

    // A plain decimal is read as it is split off; anything else as `Field` reads it.
    #[inline(always)]
    fn deserialize_f64<V: Visitor<'de>>(mut self, visitor: V) -> Result<V::Value, FieldError> {
        #[cold]
        #[inline(never)]
        fn otherwise<'de, V: Visitor<'de>>(field: LineField<'_, '_>, visitor: V) -> Result<V::Value, FieldError> {
            field.split().deserialize_f64(visitor)
        }
        match self.plain_decimal() {
            Some(value) => visitor.visit_f64(value),
            None => otherwise(self, visitor),
        }
    }

    line_integers! {
        deserialize_u8 visit_u8 u8, false;
        deserialize_u16 visit_u16 u16, false;
        deserialize_u32 visit_u32 u32, false;
        deserialize_u64 visit_u64 u64, false;
        deserialize_i8 visit_i8 i8, true;
        deserialize_i16 visit_i16 i16, true;
        deserialize_i32 visit_i32 i32, true;
        deserialize_i64 visit_i64 i64, true;
    }

    split_first! {
        deserialize_any(); deserialize_u128(); deserialize_i128(); deserialize_f32();
        deserialize_bool(); deserialize_char(); deserialize_str(); deserialize_string(); deserialize_bytes();
        deserialize_byte_buf(); deserialize_option(); deserialize_unit(); deserialize_identifier();
        deserialize_ignored_any(); deserialize_seq(); deserialize_map();
        deserialize_unit_struct(name: &'static str); deserialize_newtype_struct(name: &'static str);
        deserialize_tuple(len: usize); deserialize_tuple_struct(name: &'static str, len: usize);
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
    }
}

/// A record, read as the sequence of a struct's fields.
struct Record<'r, F> {
    record: &'r F,
    columns: &'r [usize],
    next: usize,
}

impl<'de, F: Fields> de::Deserializer<'de> for Record<'_, F> {
    type Error = FieldError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_seq(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, F: Fields> SeqAccess<'de> for Record<'_, F> {
    type Error = FieldError;

    #[inline]
    fn next_element_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<Option<S::Value>, FieldError> {
        let Some(&column) = self.columns.get(self.next) else { return Ok(None) };
        self.next += 1;
        let Some(bytes) = self.record.get(column) else {
            return Err(FieldError::new(Some(column), "the record has no such column".to_owned()));
        };
        seed.deserialize(Field { bytes }).map(Some).map_err(|e| e.in_column(column))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.columns.len() - self.next)
    }
}

/// One field's bytes, read as the type asked for.
struct Field<'a> {
    bytes: &'a [u8],
}

impl Field<'_> {
    #[inline]
    fn text(&self) -> Result<&str, FieldError> {
        // Most fields are ASCII, checked here inline: the general validator is a
        // call whose result comes back through memory, and reading it back stalled
        // on the stores that wrote it (6% of a CSV group-by of numbers).
        if self.bytes.is_ascii() {
            // SAFETY: ASCII bytes are valid UTF-8.
            return Ok(unsafe { std::str::from_utf8_unchecked(self.bytes) });
        }
        std::str::from_utf8(self.bytes)
            .map_err(|_| FieldError::new(None, format!("`{}` is not valid UTF-8", String::from_utf8_lossy(self.bytes))))
    }

    #[cold]
    fn not_a(&self, what: &str) -> FieldError {
        let text = String::from_utf8_lossy(self.bytes);
        let reason =
            if text.is_empty() { format!("empty, but must be {what}") } else { format!("`{text}` is not {what}") };
        FieldError::new(None, reason)
    }

    /// An unsigned integer, from its ASCII digits (a leading `+` allowed, as
    /// `str::parse` allows it).
    #[inline]
    fn unsigned(&self, what: &str) -> Result<u64, FieldError> {
        let digits = self.bytes.strip_prefix(b"+").unwrap_or(self.bytes);
        if digits.is_empty() {
            return Err(self.not_a(what));
        }
        // Up to 19 digits cannot overflow a u64: no overflow check per digit, whose
        // multiply-with-carry doubles the cost of the loop.
        if digits.len() <= 19 {
            let mut n: u64 = 0;
            for &b in digits {
                let digit = b.wrapping_sub(b'0');
                if digit > 9 {
                    return Err(self.not_a(what));
                }
                n = n * 10 + u64::from(digit);
            }
            return Ok(n);
        }
        let mut n: u64 = 0;
        for &b in digits {
            let digit = b.wrapping_sub(b'0');
            if digit > 9 {
                return Err(self.not_a(what));
            }
            n = n.checked_mul(10).and_then(|n| n.checked_add(u64::from(digit))).ok_or_else(|| self.not_a(what))?;
        }
        Ok(n)
    }

    #[inline]
    fn signed(&self, what: &str) -> Result<i64, FieldError> {
        match self.bytes.strip_prefix(b"-") {
            Some(digits) => {
                let magnitude = Field { bytes: digits }.unsigned(what).map_err(|_| self.not_a(what))?;
                0i64.checked_sub_unsigned(magnitude).ok_or_else(|| self.not_a(what))
            }
            None => i64::try_from(self.unsigned(what)?).map_err(|_| self.not_a(what)),
        }
    }

    fn parse<T: std::str::FromStr>(&self, what: &str) -> Result<T, FieldError> {
        self.text()?.parse().map_err(|_| self.not_a(what))
    }
}

/// Integer types read through `u64` or `i64` and narrowed, each with the words
/// its error uses.
macro_rules! integers {
    ($($method:ident $visit:ident $t:ty, $wide:ident, $what:literal;)*) => {$(
        #[inline]
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
            let n = self.$wide($what)?;
            visitor.$visit(<$t>::try_from(n).map_err(|_| self.not_a($what))?)
        }
    )*};
}

impl<'de> de::Deserializer<'de> for Field<'_> {
    type Error = FieldError;

    /// What the field looks like: an integer, a number, a bool, or text, as the
    /// csv crate infers it.
    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if let Ok(n) = self.unsigned("") {
            return visitor.visit_u64(n);
        }
        if let Ok(n) = self.signed("") {
            return visitor.visit_i64(n);
        }
        let text = self.text()?;
        if let Ok(x) = text.parse::<f64>() {
            return visitor.visit_f64(x);
        }
        match text {
            "true" => visitor.visit_bool(true),
            "false" => visitor.visit_bool(false),
            _ => visitor.visit_str(text),
        }
    }

    integers! {
        deserialize_u8 visit_u8 u8, unsigned, "an integer from 0 to 255 (`u8`)";
        deserialize_u16 visit_u16 u16, unsigned, "an integer from 0 to 65535 (`u16`)";
        deserialize_u32 visit_u32 u32, unsigned, "an integer from 0 to 4294967295 (`u32`)";
        deserialize_u64 visit_u64 u64, unsigned, "an integer from 0 to 2^64 - 1 (`u64`)";
        deserialize_i8 visit_i8 i8, signed, "an integer from -128 to 127 (`i8`)";
        deserialize_i16 visit_i16 i16, signed, "an integer from -32768 to 32767 (`i16`)";
        deserialize_i32 visit_i32 i32, signed, "an integer from -2^31 to 2^31 - 1 (`i32`)";
        deserialize_i64 visit_i64 i64, signed, "an integer from -2^63 to 2^63 - 1 (`i64`)";
    }

    fn deserialize_u128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_u128(self.parse("an integer (`u128`)")?)
    }

    fn deserialize_i128<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_i128(self.parse("an integer (`i128`)")?)
    }

    fn deserialize_f32<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_f32(self.parse("a number (`f32`)")?)
    }

    fn deserialize_f64<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_f64(self.parse("a number (`f64`)")?)
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_bool(self.parse("`true` or `false`")?)
    }

    fn deserialize_char<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_char(self.parse("one character")?)
    }

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_str(self.text()?)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_bytes(self.bytes)
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_bytes(visitor)
    }

    /// An empty field is `None`, as in the csv crate.
    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if self.bytes.is_empty() { visitor.visit_none() } else { visitor.visit_some(self) }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        if self.bytes.is_empty() { visitor.visit_unit() } else { Err(self.not_a("empty")) }
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_unit(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(self, _: &'static str, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_newtype_struct(self)
    }

    /// A unit variant, by its name.
    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, FieldError> {
        visitor.visit_enum(self.text()?.into_deserializer())
    }

    fn deserialize_identifier<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        self.deserialize_str(visitor)
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, FieldError> {
        visitor.visit_unit()
    }

    serde::forward_to_deserialize_any! { seq tuple tuple_struct map struct }
}
