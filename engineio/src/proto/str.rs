use std::fmt;
use std::ops::{Deref, RangeBounds};

use bytes::Bytes;

/// A cheaply clonable UTF-8 string backed by [`Bytes`].
///
/// Text packets are shared between many recipients on a broadcast and sliced
/// out of request bodies without copying, which `String` cannot do.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Str(Bytes);

impl Str {
    /// An empty string.
    pub const fn new() -> Self {
        Str(Bytes::new())
    }

    /// A string pointing at static data, without allocating.
    pub const fn from_static(s: &'static str) -> Self {
        Str(Bytes::from_static(s.as_bytes()))
    }

    /// The string slice.
    pub fn as_str(&self) -> &str {
        // SAFETY: every constructor checks or inherits UTF-8 validity.
        unsafe { std::str::from_utf8_unchecked(&self.0) }
    }

    /// The underlying bytes.
    pub fn as_bytes(&self) -> &Bytes {
        &self.0
    }

    /// Turns the string back into its bytes, without copying.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// A sub-string sharing the same buffer.
    ///
    /// Returns `None` when a bound does not fall on a character boundary.
    pub fn slice(&self, range: impl RangeBounds<usize>) -> Option<Str> {
        use std::ops::Bound::*;
        let s = self.as_str();
        let start = match range.start_bound() {
            Included(&n) => n,
            Excluded(&n) => n + 1,
            Unbounded => 0,
        };
        let end = match range.end_bound() {
            Included(&n) => n + 1,
            Excluded(&n) => n,
            Unbounded => s.len(),
        };
        if start > end || !s.is_char_boundary(start) || !s.is_char_boundary(end) {
            return None;
        }
        Some(Str(self.0.slice(start..end)))
    }

    /// Wraps bytes already known to be UTF-8.
    ///
    /// # Safety
    /// `bytes` must be valid UTF-8.
    pub unsafe fn from_bytes_unchecked(bytes: Bytes) -> Self {
        Str(bytes)
    }
}

impl TryFrom<Bytes> for Str {
    type Error = std::str::Utf8Error;
    fn try_from(bytes: Bytes) -> Result<Self, Self::Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Str(bytes))
    }
}

impl From<String> for Str {
    fn from(s: String) -> Self {
        Str(Bytes::from(s))
    }
}

impl From<&str> for Str {
    fn from(s: &str) -> Self {
        Str(Bytes::copy_from_slice(s.as_bytes()))
    }
}

impl From<Str> for Bytes {
    fn from(s: Str) -> Self {
        s.0
    }
}

impl From<Str> for String {
    fn from(s: Str) -> Self {
        s.as_str().to_owned()
    }
}

impl Deref for Str {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for Str {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq<str> for Str {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Str {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Debug for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

impl fmt::Display for Str {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self.as_str(), f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slice_checks_char_boundaries() {
        let s = Str::from("4é");
        assert_eq!(s.slice(1..).as_deref(), Some("é"));
        assert!(s.slice(2..).is_none());
        assert!(s.slice(5..).is_none());
    }

    #[test]
    fn rejects_invalid_utf8() {
        assert!(Str::try_from(Bytes::from_static(&[0xff, 0xfe])).is_err());
    }
}
