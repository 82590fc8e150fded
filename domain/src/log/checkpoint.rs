//! C2SP checkpoints (<https://c2sp.org/tlog-checkpoint>): the signed-note text that
//! commits the log to a size and a root, plus our one extension line, `timestamp <UTC>`.

use chrono::{DateTime, SecondsFormat, Utc};

use super::Hash;
use super::note::{self, NoteError, NoteSigner, NoteVerifier};

/// The extension line prefix of the time the checkpoint was made.
const TIMESTAMP_PREFIX: &str = "timestamp ";

/// Why a checkpoint was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("invalid checkpoint: {0}")]
    Invalid(&'static str),
    #[error("malformed checkpoint: {0}")]
    Malformed(&'static str),
    #[error("timestamp out of the four-digit year range")]
    TimestampOutOfRange,
    #[error("checkpoint origin {origin:?} differs from the signing key name {key_name:?}")]
    KeyNameMismatch { origin: String, key_name: String },
    #[error("checkpoint origin {found:?} differs from the expected {expected:?}")]
    UnexpectedOrigin { expected: String, found: String },
    #[error(transparent)]
    Note(#[from] NoteError),
}

/// A log's tree head: origin, tree size, root hash and opaque extension lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    pub extensions: Vec<String>,
}

impl Checkpoint {
    /// A checkpoint carrying our single extension line, `timestamp <RFC 3339 UTC>`.
    /// Sub-second precision is dropped, as the line holds whole seconds.
    pub fn new(
        origin: &str,
        size: u64,
        root: Hash,
        timestamp: DateTime<Utc>,
    ) -> Result<Self, CheckpointError> {
        let stamp = timestamp.to_rfc3339_opts(SecondsFormat::Secs, true);
        // Outside years 0000-9999 RFC 3339 has no form, and the line would not read back.
        if stamp.len() != "0000-00-00T00:00:00Z".len() {
            return Err(CheckpointError::TimestampOutOfRange);
        }
        let cp = Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions: vec![format!("{TIMESTAMP_PREFIX}{stamp}")],
        };
        cp.validate()?;
        Ok(cp)
    }

    /// The time of the `timestamp` extension line; `None` if absent, malformed or repeated.
    pub fn timestamp(&self) -> Option<DateTime<Utc>> {
        let mut stamps = self
            .extensions
            .iter()
            .filter_map(|line| line.strip_prefix(TIMESTAMP_PREFIX));
        let stamp = stamps.next()?;
        if stamps.next().is_some() {
            return None;
        }
        let at = DateTime::parse_from_rfc3339(stamp)
            .ok()?
            .with_timezone(&Utc);
        // Only the exact form we write: whole seconds, 'Z', so one time has one text.
        (at.to_rfc3339_opts(SecondsFormat::Secs, true) == stamp).then_some(at)
    }

    /// Checks what [`Checkpoint::body`] needs to produce a well-formed note text.
    pub fn validate(&self) -> Result<(), CheckpointError> {
        if self.origin.is_empty() {
            return Err(CheckpointError::Invalid("empty origin"));
        }
        if note::has_forbidden_control(&self.origin) || self.origin.contains('\n') {
            return Err(CheckpointError::Invalid(
                "origin contains a control character",
            ));
        }
        for line in &self.extensions {
            if line.is_empty() {
                return Err(CheckpointError::Invalid("empty extension line"));
            }
            if note::has_forbidden_control(line) || line.contains('\n') {
                return Err(CheckpointError::Invalid(
                    "extension line contains a control character",
                ));
            }
        }
        Ok(())
    }

    /// The note text: origin, size, base64 root, extension lines, each ending in '\n'.
    /// Well-formed only if [`Checkpoint::validate`] passes.
    pub fn body(&self) -> String {
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            self.root.to_base64()
        );
        for line in &self.extensions {
            body.push_str(line);
            body.push('\n');
        }
        body
    }

    /// Parses a note text strictly, so that a checkpoint has exactly one text:
    /// `body(parse(t)) == t` for every accepted `t`.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let content = body
            .strip_suffix('\n')
            .ok_or(CheckpointError::Malformed("does not end in a newline"))?;
        if note::has_forbidden_control(content) {
            return Err(CheckpointError::Malformed("contains a control character"));
        }
        let mut lines = content.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(CheckpointError::Malformed("fewer than three lines"));
        };
        if origin.is_empty() {
            return Err(CheckpointError::Malformed("empty origin"));
        }
        let size = parse_size(size)?;
        let root = Hash::from_base64(root)
            .ok_or(CheckpointError::Malformed("root is not base64 of 32 bytes"))?;
        let extensions: Vec<String> = lines.map(str::to_owned).collect();
        if extensions.iter().any(String::is_empty) {
            return Err(CheckpointError::Malformed("empty extension line"));
        }
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// ASCII decimal, no sign, no leading zeros except "0" itself, within u64.
fn parse_size(text: &str) -> Result<u64, CheckpointError> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CheckpointError::Malformed("size is not a decimal number"));
    }
    if text.len() > 1 && text.starts_with('0') {
        return Err(CheckpointError::Malformed("size has leading zeros"));
    }
    text.parse()
        .map_err(|_| CheckpointError::Malformed("size out of range"))
}

/// Signs `cp` as a note. The key name must be the origin, as the spec wants of logs.
pub fn sign_checkpoint(cp: &Checkpoint, signer: &NoteSigner) -> Result<String, CheckpointError> {
    cp.validate()?;
    if cp.origin != signer.name() {
        return Err(CheckpointError::KeyNameMismatch {
            origin: cp.origin.clone(),
            key_name: signer.name().to_owned(),
        });
    }
    Ok(note::sign(&cp.body(), signer)?)
}

/// Verifies a signed checkpoint by `verifier` and parses it. The origin must be the
/// verifier's key name and, if given, `expected_origin`.
pub fn open_checkpoint(
    signed: &str,
    verifier: &NoteVerifier,
    expected_origin: Option<&str>,
) -> Result<Checkpoint, CheckpointError> {
    let cp = Checkpoint::parse(note::open(signed, verifier)?)?;
    if let Some(expected) = expected_origin
        && cp.origin != expected
    {
        return Err(CheckpointError::UnexpectedOrigin {
            expected: expected.to_owned(),
            found: cp.origin,
        });
    }
    if cp.origin != verifier.name() {
        return Err(CheckpointError::KeyNameMismatch {
            origin: cp.origin,
            key_name: verifier.name().to_owned(),
        });
    }
    Ok(cp)
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    const ORIGIN: &str = "example.com/log";

    fn signer() -> NoteSigner {
        NoteSigner::new(ORIGIN, [9u8; 32]).unwrap()
    }

    fn at() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 5, 20, 0, 0).unwrap()
    }

    #[test]
    fn spec_examples_parse_and_reserialize() {
        for (body, size) in [
            (
                "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
                20852163,
            ),
            (
                "example.com/origin\n923748\nnND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI=\n",
                923748,
            ),
        ] {
            let cp = Checkpoint::parse(body).unwrap();
            assert_eq!(cp.size, size);
            assert!(cp.extensions.is_empty());
            assert_eq!(cp.body(), body);
        }
    }

    #[test]
    fn body_layout_and_timestamp() {
        let cp = Checkpoint::new(ORIGIN, 0, Hash([0; 32]), at()).unwrap();
        assert_eq!(
            cp.body(),
            "example.com/log\n0\nAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\ntimestamp 2026-12-05T20:00:00Z\n"
        );
        assert_eq!(cp.timestamp(), Some(at()));
        assert_eq!(Checkpoint::parse(&cp.body()).unwrap(), cp);
    }

    #[test]
    fn timestamp_drops_subseconds_and_reads_only_our_form() {
        let precise = at() + chrono::Duration::milliseconds(750);
        let cp = Checkpoint::new(ORIGIN, 1, Hash([1; 32]), precise).unwrap();
        assert_eq!(cp.timestamp(), Some(at()));

        let with = |lines: &[&str]| Checkpoint {
            extensions: lines.iter().map(|s| (*s).to_owned()).collect(),
            ..cp.clone()
        };
        assert_eq!(with(&[]).timestamp(), None);
        assert_eq!(
            with(&["other ext", "timestamp 2026-12-05T20:00:00Z"]).timestamp(),
            Some(at())
        );
        for bad in [
            "timestamp 2026-12-05T20:00:00.5Z",
            "timestamp 2026-12-05T21:00:00+01:00",
            "timestamp 2026-12-05 20:00:00Z",
            "timestamp nonsense",
        ] {
            assert_eq!(with(&[bad]).timestamp(), None, "{bad}");
        }
        let twice = "timestamp 2026-12-05T20:00:00Z";
        assert_eq!(with(&[twice, twice]).timestamp(), None);
    }

    #[test]
    fn sign_and_open_round_trip() {
        let signer = signer();
        let cp = Checkpoint::new(ORIGIN, 923748, Hash([0xab; 32]), at()).unwrap();
        let signed = sign_checkpoint(&cp, &signer).unwrap();
        assert!(signed.starts_with(&cp.body()));
        let v = signer.verifier_key();
        assert_eq!(open_checkpoint(&signed, &v, None).unwrap(), cp);
        assert_eq!(open_checkpoint(&signed, &v, Some(ORIGIN)).unwrap(), cp);
        assert!(matches!(
            open_checkpoint(&signed, &v, Some("example.com/other")),
            Err(CheckpointError::UnexpectedOrigin { .. })
        ));
        let tampered = signed.replacen("923748", "923749", 1);
        assert!(matches!(
            open_checkpoint(&tampered, &v, None),
            Err(CheckpointError::Note(NoteError::InvalidSignature { .. }))
        ));
    }

    #[test]
    fn key_name_must_be_the_origin() {
        let other = NoteSigner::new("example.com/other", [9u8; 32]).unwrap();
        let cp = Checkpoint::new(ORIGIN, 5, Hash([2; 32]), at()).unwrap();
        assert!(matches!(
            sign_checkpoint(&cp, &other),
            Err(CheckpointError::KeyNameMismatch { .. })
        ));
        // A note whose text names another origin than its signer is refused on open too.
        let foreign = note::sign(&cp.body(), &other).unwrap();
        assert!(matches!(
            open_checkpoint(&foreign, &other.verifier_key(), None),
            Err(CheckpointError::KeyNameMismatch { .. })
        ));
    }

    #[test]
    fn strict_parse_rejections() {
        let root = "nND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI=";
        let bad = [
            format!("o\n0923748\n{root}\n"),              // leading zero
            format!("o\n00\n{root}\n"),                   // leading zero
            format!("o\n+1\n{root}\n"),                   // sign
            format!("o\n-1\n{root}\n"),                   // sign
            format!("o\n1 \n{root}\n"),                   // trailing space
            format!("o\n\n{root}\n"),                     // empty size
            format!("o\n18446744073709551616\n{root}\n"), // > u64::MAX
            "o\n1\nnot base64!\n".to_owned(),             // bad base64
            "o\n1\nnND/nri/U0xuHUrYSy0HtMeal2vzD9V4k/BO79C+QeI\n".to_owned(), // no padding
            "o\n1\nAAAA\n".to_owned(),                    // wrong length
            format!("o\n1\n{root}AAAA\n"),                // wrong length
            format!("o\n1\n{root}"),                      // no trailing newline
            format!("\n1\n{root}\n"),                     // empty origin
            "o\n1\n".to_owned(),                          // two lines
            String::new(),                                // nothing
            format!("o\n1\n{root}\n\n"),                  // empty extension line
            format!("o\n1\n{root}\next\n\n"),             // empty extension line
            format!("o\r\n1\n{root}\n"),                  // control character
        ];
        for body in &bad {
            assert!(Checkpoint::parse(body).is_err(), "accepted {body:?}");
        }
        assert_eq!(
            Checkpoint::parse(&format!("o\n0\n{root}\n")).unwrap().size,
            0
        );
        let max = format!("o\n18446744073709551615\n{root}\nx y\n");
        let cp = Checkpoint::parse(&max).unwrap();
        assert_eq!(
            (cp.size, cp.extensions.as_slice()),
            (u64::MAX, &["x y".to_owned()][..])
        );
    }

    #[test]
    fn invalid_checkpoints_are_not_signed() {
        let signer = signer();
        let base = Checkpoint::new(ORIGIN, 1, Hash([3; 32]), at()).unwrap();
        let empty_origin = Checkpoint {
            origin: String::new(),
            ..base.clone()
        };
        assert!(matches!(
            sign_checkpoint(&empty_origin, &signer),
            Err(CheckpointError::Invalid(_))
        ));
        assert!(Checkpoint::new("", 1, Hash([3; 32]), at()).is_err());
        assert!(Checkpoint::new("a\nb", 1, Hash([3; 32]), at()).is_err());
        for ext in ["", "two\nlines"] {
            let cp = Checkpoint {
                extensions: vec![ext.to_owned()],
                ..base.clone()
            };
            assert!(cp.validate().is_err());
            assert!(sign_checkpoint(&cp, &signer).is_err());
        }
        let far = Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap();
        assert_eq!(
            Checkpoint::new(ORIGIN, 1, Hash([3; 32]), far),
            Err(CheckpointError::TimestampOutOfRange)
        );
    }
}
