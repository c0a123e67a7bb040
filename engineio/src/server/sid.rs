use std::borrow::Borrow;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use base64::Engine;
use rand::RngCore;

/// A 20-character session id: 15 bytes from the thread-local CSPRNG, base64url
/// encoded, like the reference's `base64id`. `Copy`, so maps keyed by it do
/// not allocate.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sid([u8; 20]);

impl Sid {
    /// A fresh random id.
    pub fn new() -> Self {
        let mut raw = [0u8; 15];
        rand::rng().fill_bytes(&mut raw);
        let mut out = [0u8; 20];
        // 15 bytes always encode to exactly 20 base64 characters.
        let _ = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode_slice(raw, &mut out);
        Sid(out)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        // base64url output is ASCII.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// Parses an id received from a client; `None` if it cannot be one of ours.
    pub fn parse(s: &str) -> Option<Self> {
        let bytes: [u8; 20] = s.as_bytes().try_into().ok()?;
        bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
            .then_some(Sid(bytes))
    }
}

impl Default for Sid {
    fn default() -> Self {
        Sid::new()
    }
}

impl fmt::Display for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Sid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sid({})", self.as_str())
    }
}

/// Longest id a [`GenerateId`](super::GenerateId) hook may give.
pub const MAX_SESSION_ID_LEN: usize = 128;

/// The id of an Engine.IO session: a random [`Sid`], or one an application
/// chose through [`ServerConfig::generate_id`](super::ServerConfig::generate_id).
/// Cheap to clone; compares, hashes and borrows as its text, so session
/// maps are looked up by the `sid` of a query string directly.
#[derive(Clone)]
pub struct SessionId(Repr);

#[derive(Clone)]
enum Repr {
    Random(Sid),
    Custom(Arc<str>),
}

impl SessionId {
    /// A fresh random id.
    pub fn random() -> Self {
        SessionId(Repr::Random(Sid::new()))
    }

    /// An application's id, if it can be one: 1 to [`MAX_SESSION_ID_LEN`]
    /// characters that need no escaping in a query string or a cookie
    /// (`A-Z a-z 0-9 - _ . ~`). `Err` says what is wrong with it.
    pub fn custom(id: &str) -> Result<Self, String> {
        if id.is_empty() {
            return Err("the generated id is empty".into());
        }
        if id.len() > MAX_SESSION_ID_LEN {
            return Err(format!(
                "the generated id is {} characters long, more than {MAX_SESSION_ID_LEN}",
                id.len()
            ));
        }
        if let Some(c) = id
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '~')))
        {
            return Err(format!(
                "the generated id {id:?} has the character {c:?}: only A-Z a-z 0-9 - _ . ~ are allowed"
            ));
        }
        Ok(SessionId(Repr::Custom(Arc::from(id))))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Random(s) => s.as_str(),
            Repr::Custom(s) => s,
        }
    }
}

impl From<Sid> for SessionId {
    fn from(s: Sid) -> Self {
        SessionId(Repr::Random(s))
    }
}

impl PartialEq for SessionId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for SessionId {}

impl PartialEq<str> for SessionId {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl Hash for SessionId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        // As `str` hashes, for `Borrow<str>`.
        self.as_str().hash(state)
    }
}

impl Borrow<str> for SessionId {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl AsRef<str> for SessionId {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({})", self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_ids_compare_and_hash_as_text() {
        use std::collections::HashMap;
        let random = SessionId::random();
        let custom = SessionId::custom("user-42.a~b_C").unwrap();
        let mut m = HashMap::new();
        m.insert(random.clone(), 1);
        m.insert(custom.clone(), 2);
        assert_eq!(m.get(random.as_str()), Some(&1));
        assert_eq!(m.get("user-42.a~b_C"), Some(&2));
        assert_eq!(
            SessionId::from(Sid::parse(random.as_str()).unwrap()),
            random
        );
        assert_eq!(custom.to_string(), "user-42.a~b_C");
    }

    #[test]
    fn custom_ids_are_checked() {
        assert!(SessionId::custom("").unwrap_err().contains("empty"));
        assert!(SessionId::custom("a b").unwrap_err().contains("' '"));
        assert!(SessionId::custom("a&sid=b").is_err());
        assert!(SessionId::custom("é").is_err());
        assert!(SessionId::custom(&"x".repeat(MAX_SESSION_ID_LEN)).is_ok());
        assert!(SessionId::custom(&"x".repeat(MAX_SESSION_ID_LEN + 1))
            .unwrap_err()
            .contains("long"));
    }

    #[test]
    fn ids_are_20_url_safe_chars_and_distinct() {
        let a = Sid::new();
        let b = Sid::new();
        assert_ne!(a, b);
        assert_eq!(a.as_str().len(), 20);
        assert_eq!(Sid::parse(a.as_str()), Some(a));
        assert_eq!(Sid::parse("short"), None);
        assert_eq!(Sid::parse("!!!!!!!!!!!!!!!!!!!!"), None);
    }
}
