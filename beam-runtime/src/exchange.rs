//! What crosses between processes. Only barrier states and gathered results cross
//! (a keyed barrier's `(key, state)` pairs, a global one's state, `collect()`'s
//! elements); elements inside a fused loop never do. Their types must serialize
//! when the distributed runner is compiled in (feature `timely`), and need not
//! otherwise: [`Exchangeable`] is then implemented by every type.

/// A type that can be sent to another process: `Serialize + Deserialize` with the
/// feature `timely`, any type without it.
///
/// ```
/// fn sent<T: beam::Exchangeable>(_: &T) {}
/// sent(&(beam::text::Word::from("cat"), 3u64));
/// ```
#[cfg(feature = "timely")]
#[diagnostic::on_unimplemented(
    message = "`{Self}` is sent between processes here, so it must implement `Serialize` and `Deserialize`",
    label = "its values cross processes at this stage",
    note = "derive them: `#[derive(serde::Serialize, serde::Deserialize)]` with serde (feature `derive`) in your Cargo.toml, or beam's copy: `#[derive(beam::serde::Serialize, beam::serde::Deserialize)]` and `#[serde(crate = \"beam::serde\")]`"
)]
pub trait Exchangeable: serde::Serialize + serde::de::DeserializeOwned {}
#[cfg(feature = "timely")]
impl<T: serde::Serialize + serde::de::DeserializeOwned> Exchangeable for T {}

/// A type that can be sent to another process: `Serialize + Deserialize` with the
/// feature `timely`, any type without it.
///
/// ```
/// fn sent<T: beam::Exchangeable>(_: &T) {}
/// sent(&(beam::text::Word::from("cat"), 3u64));
/// ```
#[cfg(not(feature = "timely"))]
pub trait Exchangeable {}
#[cfg(not(feature = "timely"))]
impl<T: ?Sized> Exchangeable for T {}

/// `value` in the compact binary form sent between processes.
#[cfg(feature = "timely")]
pub(crate) fn encode<T: Exchangeable>(value: &T) -> crate::Result<Vec<u8>> {
    bincode::serialize(value).map_err(|e| {
        crate::Error::new(crate::ErrorKind::Runner, "could not encode a value to send to another process")
            .with_source(e)
    })
}

/// A value sent by another process.
#[cfg(feature = "timely")]
pub(crate) fn decode<T: Exchangeable>(bytes: &[u8]) -> crate::Result<T> {
    bincode::deserialize(bytes).map_err(|e| {
        crate::Error::new(crate::ErrorKind::Runner, "could not decode a value another process sent").with_source(e)
    })
}
