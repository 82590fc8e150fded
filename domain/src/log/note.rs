//! C2SP signed notes (<https://c2sp.org/signed-note>), Ed25519 only.
//!
//! A signed note is a text ending in a newline, a blank line, then one or more lines
//! `— <key name> base64(key ID || signature)`. Keys travel as text: the verifier key
//! `<name>+<key ID hex>+base64(0x01 || public key)` and, for signers, the private key
//! format of Go's `golang.org/x/mod/sumdb/note`, which every signed-note tool reads.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

/// Signature type byte of Ed25519 in the key ID and in key texts.
const ALG_ED25519: u8 = 0x01;

/// The line prefix of a signature: EM DASH (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";

/// The spec asks verifiers to cap signatures (and accept at least 16); Go uses 100.
pub const MAX_SIGNATURES: usize = 100;

const PRIVATE_KEY_PREFIX: &str = "PRIVATE+KEY+";

/// Why a key, a text or a signed note was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoteError {
    #[error("invalid key name: must be non-empty, printable, without spaces or '+'")]
    InvalidKeyName,
    #[error("malformed private key text: {0}")]
    MalformedPrivateKey(&'static str),
    #[error("malformed verifier key text: {0}")]
    MalformedVerifierKey(&'static str),
    #[error("unsupported signature algorithm 0x{0:02x} (only Ed25519, 0x01)")]
    UnsupportedAlgorithm(u8),
    #[error("key hash {stated:08x} in the key text does not match the key ({computed:08x})")]
    KeyHashMismatch { stated: u32, computed: u32 },
    #[error("invalid note text: {0}")]
    InvalidText(&'static str),
    #[error("malformed signed note: {0}")]
    MalformedNote(&'static str),
    #[error("signed note has more than {MAX_SIGNATURES} signatures")]
    TooManySignatures,
    #[error("signature by key {name}+{key_hash:08x} does not verify")]
    InvalidSignature { name: String, key_hash: u32 },
    #[error("no signature by key {name}+{key_hash:08x}")]
    NoSignatureFromKey { name: String, key_hash: u32 },
}

/// Spec: non-empty, no Unicode spaces, no '+'. Control characters are refused too,
/// since they may not appear anywhere in a signed note.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty()
        && !name
            .chars()
            .any(|c| c == '+' || c.is_whitespace() || c.is_control())
}

/// The recommended key ID: `SHA-256(name || 0x0A || 0x01 || public key)[:4]`, big-endian.
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let digest = h.finalize();
    u32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

/// Signs note texts with one named Ed25519 key.
pub struct NoteSigner {
    name: String,
    key_hash: u32,
    // SigningKey zeroizes its secret on drop (dalek "zeroize" feature).
    key: SigningKey,
}

// Hand-written so the secret can never reach a log line.
impl std::fmt::Debug for NoteSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NoteSigner")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .finish_non_exhaustive()
    }
}

impl NoteSigner {
    /// A signer from its key name and 32-byte Ed25519 seed (RFC 8032 private key).
    pub fn new(name: &str, seed: [u8; 32]) -> Result<Self, NoteError> {
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        let key = SigningKey::from_bytes(&seed);
        let key_hash = key_hash(name, key.verifying_key().as_bytes());
        Ok(Self {
            name: name.to_owned(),
            key_hash,
            key,
        })
    }

    /// Parses `PRIVATE+KEY+<name>+<hash hex8>+<base64(0x01 || seed)>`, checking the hash.
    pub fn from_private_key_text(text: &str) -> Result<Self, NoteError> {
        let rest = text
            .strip_prefix(PRIVATE_KEY_PREFIX)
            .ok_or(NoteError::MalformedPrivateKey(
                "missing PRIVATE+KEY+ prefix",
            ))?;
        // splitn: names hold no '+', but the base64 key may.
        let mut parts = rest.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedPrivateKey(
                "expected <name>+<hash>+<key>",
            ));
        };
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        let stated = parse_hash_hex(hash).ok_or(NoteError::MalformedPrivateKey("bad key hash"))?;
        let seed: [u8; 32] = decode_typed_key(key)
            .map_err(|e| e.unwrap_or(NoteError::MalformedPrivateKey("bad key encoding")))?;
        let signer = Self::new(name, seed)?;
        if signer.key_hash != stated {
            return Err(NoteError::KeyHashMismatch {
                stated,
                computed: signer.key_hash,
            });
        }
        Ok(signer)
    }

    /// The private key in Go's `sumdb/note` text format. Holds the secret: handle it as one.
    pub fn private_key_text(&self) -> String {
        format!(
            "{PRIVATE_KEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_hash,
            encode_typed_key(self.key.as_bytes())
        )
    }

    /// The matching verifier.
    pub fn verifier_key(&self) -> NoteVerifier {
        NoteVerifier {
            name: self.name.clone(),
            key_hash: self.key_hash,
            key: self.key.verifying_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The signature line for `text`, newline included.
    fn signature_line(&self, text: &str) -> String {
        let sig = self.key.sign(text.as_bytes());
        let mut payload = Vec::with_capacity(4 + 64);
        payload.extend_from_slice(&self.key_hash.to_be_bytes());
        payload.extend_from_slice(&sig.to_bytes());
        format!("{SIG_PREFIX}{} {}\n", self.name, STANDARD.encode(payload))
    }
}

/// Verifies signatures of one named Ed25519 key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteVerifier {
    name: String,
    key_hash: u32,
    key: VerifyingKey,
}

impl NoteVerifier {
    /// Parses `<name>+<hash hex8>+<base64(0x01 || public key)>`, checking the hash.
    pub fn from_vkey(text: &str) -> Result<Self, NoteError> {
        let mut parts = text.splitn(3, '+');
        let (Some(name), Some(hash), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(NoteError::MalformedVerifierKey(
                "expected <name>+<hash>+<key>",
            ));
        };
        if !is_valid_key_name(name) {
            return Err(NoteError::InvalidKeyName);
        }
        let stated = parse_hash_hex(hash).ok_or(NoteError::MalformedVerifierKey("bad key hash"))?;
        let bytes: [u8; 32] = decode_typed_key(key)
            .map_err(|e| e.unwrap_or(NoteError::MalformedVerifierKey("bad key encoding")))?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| NoteError::MalformedVerifierKey("not an Ed25519 public key"))?;
        // A small-order key admits trivial forgeries; no honest key is one.
        if key.is_weak() {
            return Err(NoteError::MalformedVerifierKey("weak Ed25519 public key"));
        }
        let computed = key_hash(name, &bytes);
        if computed != stated {
            return Err(NoteError::KeyHashMismatch { stated, computed });
        }
        Ok(Self {
            name: name.to_owned(),
            key_hash: computed,
            key,
        })
    }

    /// The verifier key text, `<name>+<hash hex8>+<base64(0x01 || public key)>`.
    pub fn vkey(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            encode_typed_key(self.key.as_bytes())
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }
}

/// Signs `text` (non-empty, ending in a newline) and returns the signed note:
/// `text`, a blank line, one signature line.
pub fn sign(text: &str, signer: &NoteSigner) -> Result<String, NoteError> {
    // The separator is the *last* blank line and signature lines never contain one, so
    // any text ending in '\n' splits back exactly, even with blank lines of its own.
    check_text(text)?;
    let line = signer.signature_line(text);
    let mut note = String::with_capacity(text.len() + 1 + line.len());
    note.push_str(text);
    note.push('\n');
    note.push_str(&line);
    Ok(note)
}

/// Checks `note`'s structure and its signatures by `verifier`'s key, and returns the
/// note text. Signatures by other keys (other name or other key ID) are ignored, as the
/// spec requires; a signature by this key that fails rejects the whole note.
pub fn open<'a>(note: &'a str, verifier: &NoteVerifier) -> Result<&'a str, NoteError> {
    if has_forbidden_control(note) {
        return Err(NoteError::MalformedNote(
            "contains an ASCII control character",
        ));
    }
    let split = note.rfind("\n\n").ok_or(NoteError::MalformedNote(
        "no blank line before the signatures",
    ))?;
    let (text, sigs) = (&note[..=split], &note[split + 2..]);
    let sigs = sigs.strip_suffix('\n').ok_or(NoteError::MalformedNote(
        "signatures do not end in a newline",
    ))?;
    if sigs.is_empty() {
        return Err(NoteError::MalformedNote("no signature lines"));
    }

    let mut verified = false;
    for (i, line) in sigs.split('\n').enumerate() {
        if i >= MAX_SIGNATURES {
            return Err(NoteError::TooManySignatures);
        }
        let (name, id, sig) = parse_signature_line(line)?;
        if name != verifier.name || id != verifier.key_hash {
            continue;
        }
        if verified {
            return Err(NoteError::MalformedNote(
                "repeated signature by the same key",
            ));
        }
        let bad = || NoteError::InvalidSignature {
            name: verifier.name.clone(),
            key_hash: verifier.key_hash,
        };
        let sig: [u8; 64] = sig.try_into().map_err(|_| bad())?;
        // Strict: also refuses non-canonical and small-order encodings.
        verifier
            .key
            .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
            .map_err(|_| bad())?;
        verified = true;
    }
    if !verified {
        return Err(NoteError::NoSignatureFromKey {
            name: verifier.name.clone(),
            key_hash: verifier.key_hash,
        });
    }
    Ok(text)
}

/// `— <name> base64(key ID || signature)` without its newline → (name, key ID, signature).
fn parse_signature_line(line: &str) -> Result<(&str, u32, Vec<u8>), NoteError> {
    let rest = line
        .strip_prefix(SIG_PREFIX)
        .ok_or(NoteError::MalformedNote(
            "signature line does not start with an em dash",
        ))?;
    let (name, b64) = rest
        .split_once(' ')
        .ok_or(NoteError::MalformedNote("signature line has no signature"))?;
    if !is_valid_key_name(name) {
        return Err(NoteError::MalformedNote(
            "invalid key name in a signature line",
        ));
    }
    let payload = STANDARD
        .decode(b64)
        .map_err(|_| NoteError::MalformedNote("signature is not base64"))?;
    // Key ID plus at least one byte of signature, whatever the algorithm.
    if payload.len() < 5 {
        return Err(NoteError::MalformedNote("signature too short"));
    }
    let id = u32::from_be_bytes([payload[0], payload[1], payload[2], payload[3]]);
    Ok((name, id, payload[4..].to_vec()))
}

fn check_text(text: &str) -> Result<(), NoteError> {
    if text.is_empty() {
        return Err(NoteError::InvalidText("empty"));
    }
    if !text.ends_with('\n') {
        return Err(NoteError::InvalidText("does not end in a newline"));
    }
    if has_forbidden_control(text) {
        return Err(NoteError::InvalidText(
            "contains an ASCII control character",
        ));
    }
    Ok(())
}

/// Signed notes allow no ASCII control character but newline.
pub(crate) fn has_forbidden_control(text: &str) -> bool {
    text.bytes().any(|b| b < 0x20 && b != b'\n')
}

/// Exactly eight hex digits (Go writes lowercase; either case names the same ID).
fn parse_hash_hex(text: &str) -> Option<u32> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(text, 16).ok()
}

fn encode_typed_key(key: &[u8; 32]) -> String {
    let mut bytes = [0u8; 33];
    bytes[0] = ALG_ED25519;
    bytes[1..].copy_from_slice(key);
    STANDARD.encode(bytes)
}

/// `base64(0x01 || 32 bytes)` → the 32 bytes. `Err(None)` is a bad encoding, for the
/// caller to word; `Err(Some(_))` an unsupported algorithm.
fn decode_typed_key(text: &str) -> Result<[u8; 32], Option<NoteError>> {
    let bytes = STANDARD.decode(text).map_err(|_| None)?;
    let (&alg, key) = bytes.split_first().ok_or(None)?;
    if alg != ALG_ED25519 {
        return Err(Some(NoteError::UnsupportedAlgorithm(alg)));
    }
    key.try_into().map_err(|_| None)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    // Published examples of golang.org/x/mod/sumdb/note (checked independently with
    // Python's `cryptography`: the seed derives this public key and this signature).
    const VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const BODY: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const NOTE: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n\
                        \n\
                        \u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

    fn other_signer(name: &str) -> NoteSigner {
        NoteSigner::new(name, [7u8; 32]).unwrap()
    }

    #[test]
    fn private_key_gives_published_verifier_key() {
        let signer = NoteSigner::from_private_key_text(SKEY).unwrap();
        assert_eq!(signer.name(), "PeterNeumann");
        assert_eq!(signer.key_hash(), 0xc74f20a3);
        assert_eq!(signer.verifier_key().vkey(), VKEY);
        assert_eq!(signer.private_key_text(), SKEY);
    }

    #[test]
    fn verifier_key_round_trips_and_hash_matches() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_hash(), 0xc74f20a3);
        assert_eq!(key_hash("PeterNeumann", &v.public_key()), 0xc74f20a3);
        assert_eq!(v.vkey(), VKEY);
    }

    #[test]
    fn signing_reproduces_published_note() {
        let signer = NoteSigner::from_private_key_text(SKEY).unwrap();
        assert_eq!(sign(BODY, &signer).unwrap(), NOTE);
    }

    #[test]
    fn open_accepts_published_note() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        assert_eq!(open(NOTE, &v).unwrap(), BODY);
    }

    #[test]
    fn open_rejects_tampered_body() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        let tampered = NOTE.replacen("answer", "anSwer", 1);
        assert!(matches!(
            open(&tampered, &v),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn open_rejects_tampered_signature() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        let (head, b64) = NOTE.trim_end_matches('\n').rsplit_once(' ').unwrap();
        let mut payload = STANDARD.decode(b64).unwrap();
        payload[10] ^= 0x01;
        let tampered = format!("{head} {}\n", STANDARD.encode(payload));
        assert!(matches!(
            open(&tampered, &v),
            Err(NoteError::InvalidSignature { .. })
        ));
    }

    #[test]
    fn open_rejects_note_signed_only_by_another_key() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        let note = sign(BODY, &other_signer("PeterNeumann")).unwrap();
        assert!(matches!(
            open(&note, &v),
            Err(NoteError::NoSignatureFromKey { .. })
        ));
        let note = sign(BODY, &other_signer("someone.example/else")).unwrap();
        assert!(matches!(
            open(&note, &v),
            Err(NoteError::NoSignatureFromKey { .. })
        ));
    }

    #[test]
    fn open_ignores_other_signatures_next_to_a_good_one() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        let other = sign(BODY, &other_signer("witness.example/w1")).unwrap();
        let extra_line = &other[BODY.len() + 1..];
        let note = format!("{NOTE}{extra_line}");
        assert_eq!(open(&note, &v).unwrap(), BODY);
        let note = format!("{BODY}\n{extra_line}{}", &NOTE[BODY.len() + 1..]);
        assert_eq!(open(&note, &v).unwrap(), BODY);
    }

    #[test]
    fn round_trip_with_fresh_seed() {
        let signer = NoteSigner::new("log.example/test", [42u8; 32]).unwrap();
        let again = NoteSigner::from_private_key_text(&signer.private_key_text()).unwrap();
        assert_eq!(again.verifier_key(), signer.verifier_key());
        let v = NoteVerifier::from_vkey(&signer.verifier_key().vkey()).unwrap();
        // Blank lines inside the text, and a blank final line, survive the split.
        for body in ["a\n", "\n", "a\n\nb\n", "a\n\n", "héllo — wörld\n"] {
            let note = sign(body, &signer).unwrap();
            assert_eq!(open(&note, &v).unwrap(), body);
        }
    }

    #[test]
    fn sign_rejects_bad_texts() {
        let signer = other_signer("x");
        assert_eq!(sign("", &signer), Err(NoteError::InvalidText("empty")));
        assert!(sign("no newline", &signer).is_err());
        assert!(sign("tab\there\n", &signer).is_err());
        assert!(sign("cr\r\n", &signer).is_err());
    }

    #[test]
    fn key_names_are_checked() {
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\nb", "a\u{7f}"] {
            assert_eq!(
                NoteSigner::new(bad, [1; 32]).unwrap_err(),
                NoteError::InvalidKeyName
            );
        }
        assert!(NoteSigner::new("example.com/log—é", [1; 32]).is_ok());
    }

    #[test]
    fn malformed_keys_are_rejected() {
        // Wrong hash.
        let wrong = VKEY.replace("c74f20a3", "c74f20a4");
        assert!(matches!(
            NoteVerifier::from_vkey(&wrong),
            Err(NoteError::KeyHashMismatch { .. })
        ));
        let wrong = SKEY.replace("c74f20a3", "00000000");
        assert!(matches!(
            NoteSigner::from_private_key_text(&wrong),
            Err(NoteError::KeyHashMismatch { .. })
        ));
        // Another seed under the same stated hash.
        let wrong = SKEY.replace("iUvxdXHKDFz", "iUvxEUdSqLG");
        assert!(matches!(
            NoteSigner::from_private_key_text(&wrong),
            Err(NoteError::KeyHashMismatch { .. })
        ));
        // A hash that from_str_radix alone would accept.
        assert!(NoteVerifier::from_vkey(&VKEY.replace("c74f20a3", "+74f20a3")).is_err());
        // Other algorithm byte.
        let mut bytes = STANDARD
            .decode("ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap();
        bytes[0] = 0x02;
        let other_alg = format!("PeterNeumann+c74f20a3+{}", STANDARD.encode(&bytes));
        assert_eq!(
            NoteVerifier::from_vkey(&other_alg).unwrap_err(),
            NoteError::UnsupportedAlgorithm(2)
        );
        // Truncated key, missing parts, verifier key given as private key.
        assert!(NoteVerifier::from_vkey(&VKEY[..VKEY.len() - 4]).is_err());
        assert!(NoteVerifier::from_vkey("PeterNeumann+c74f20a3").is_err());
        assert!(NoteSigner::from_private_key_text(VKEY).is_err());
        // The identity point has small order.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let weak = format!(
            "w+{:08x}+{}",
            key_hash("w", &identity),
            encode_typed_key(&identity)
        );
        assert!(matches!(
            NoteVerifier::from_vkey(&weak),
            Err(NoteError::MalformedVerifierKey(_))
        ));
    }

    #[test]
    fn malformed_notes_are_rejected() {
        let v = NoteVerifier::from_vkey(VKEY).unwrap();
        // No blank line, no trailing newline, no signatures, hyphen instead of em dash.
        assert!(open(BODY, &v).is_err());
        assert!(open(NOTE.trim_end_matches('\n'), &v).is_err());
        assert!(open(&format!("{BODY}\n"), &v).is_err());
        assert!(open(&NOTE.replace('\u{2014}', "-"), &v).is_err());
        // Control character in the text.
        assert!(matches!(
            open(&NOTE.replacen("you", "y\tu", 1), &v),
            Err(NoteError::MalformedNote(_))
        ));
        // A blank line between signature lines is not a valid signature block.
        let sig_line = &NOTE[BODY.len() + 1..];
        assert!(open(&format!("{BODY}\n{sig_line}\n{sig_line}"), &v).is_err());
        // The same key twice.
        assert!(open(&format!("{NOTE}{sig_line}"), &v).is_err());
        // Too many signatures.
        let other = sign(BODY, &other_signer("w")).unwrap();
        let other_line = &other[BODY.len() + 1..];
        let many = format!("{NOTE}{}", other_line.repeat(MAX_SIGNATURES));
        assert_eq!(open(&many, &v), Err(NoteError::TooManySignatures));
    }
}
