//! Unit tests of JWT verification: one accepted token per algorithm, then each refusal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use ring::rand::SystemRandom;
use ring::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use serde_json::json;

use super::*;

/// The test-only RSA key committed as a fixture (see tests/fixtures/README.md).
const RSA_PKCS8: &[u8] = include_bytes!("../../../tests/fixtures/jwt-test-rsa-2048.pk8.der");
const NOW: i64 = 1_700_000_000;
const ALL: [Algorithm; 3] = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa];

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

impl Signer {
    fn rsa() -> Self {
        Self::Rsa(RsaKeyPair::from_pkcs8(RSA_PKCS8).unwrap())
    }

    fn ec() -> Self {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        Self::Ec(
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        )
    }

    fn ed() -> Self {
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&SystemRandom::new()).unwrap();
        Self::Ed(Ed25519KeyPair::from_pkcs8(pkcs8.as_ref()).unwrap())
    }

    fn alg(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RS256",
            Self::Ec(_) => "ES256",
            Self::Ed(_) => "EdDSA",
        }
    }

    fn jwk(&self, kid: &str) -> Jwk {
        let key = match self {
            Self::Rsa(k) => {
                let c: ring::rsa::PublicKeyComponents<Vec<u8>> = k.public().into();
                PublicKey::Rsa { n: c.n, e: c.e }
            }
            Self::Ec(k) => PublicKey::P256(k.public_key().as_ref().to_vec()),
            Self::Ed(k) => PublicKey::Ed25519(k.public_key().as_ref().to_vec()),
        };
        Jwk {
            kid: Some(kid.to_owned()),
            key,
        }
    }

    fn sign_raw(&self, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = SystemRandom::new();
        let sig = match self {
            Self::Rsa(k) => {
                let mut sig = vec![0; k.public().modulus_len()];
                k.sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
                    .unwrap();
                sig
            }
            Self::Ec(k) => k.sign(&rng, input.as_bytes()).unwrap().as_ref().to_vec(),
            Self::Ed(k) => k.sign(input.as_bytes()).as_ref().to_vec(),
        };
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
    }

    fn sign(&self, kid: &str, claims: &Value) -> String {
        self.sign_raw(
            &json!({"alg": self.alg(), "kid": kid, "typ": "JWT"}),
            claims,
        )
    }
}

fn claims() -> Value {
    json!({"iss": "https://issuer", "aud": ["other", "datastorage"], "sub": "system:serviceaccount:ns:gw",
           "exp": NOW + 600, "nbf": NOW - 10, "iat": NOW - 10})
}

fn expect() -> Expectations {
    Expectations {
        issuer: "https://issuer".into(),
        audience: "datastorage".into(),
        leeway_secs: 30,
    }
}

fn check(token: &str, keys: &[Jwk]) -> Result<Claims, JwtError> {
    let unverified = decode(token, &ALL)?;
    let key = pick(keys, unverified.kid.as_deref(), unverified.alg)
        .ok_or_else(|| JwtError::UnknownKey(unverified.kid.clone()))?
        .clone();
    unverified.verify(&key, &expect(), NOW)
}

#[test]
fn each_algorithm_verifies_its_own_signature() {
    for signer in [Signer::rsa(), Signer::ec(), Signer::ed()] {
        let keys = [signer.jwk("k1")];
        let verified = check(&signer.sign("k1", &claims()), &keys).unwrap();
        assert_eq!(
            verified.subject,
            "system:serviceaccount:ns:gw",
            "{}",
            signer.alg()
        );
    }
}

#[test]
fn a_tampered_payload_or_another_keys_signature_is_refused() {
    let signer = Signer::ec();
    let keys = [signer.jwk("k1")];
    let token = signer.sign("k1", &claims());
    let mut forged = claims();
    forged["sub"] = json!("admin");
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(forged.to_string()),
        parts[2]
    );
    assert_eq!(check(&tampered, &keys).unwrap_err(), JwtError::Signature);
    let other = Signer::ec().sign("k1", &claims());
    assert_eq!(check(&other, &keys).unwrap_err(), JwtError::Signature);
}

#[test]
fn alg_none_and_algorithms_not_allowed_are_refused() {
    let unsigned = format!(
        "{}.{}.",
        URL_SAFE_NO_PAD.encode(json!({"alg": "none"}).to_string()),
        URL_SAFE_NO_PAD.encode(claims().to_string())
    );
    assert_eq!(
        check(&unsigned, &[]).unwrap_err(),
        JwtError::Algorithm("none".into())
    );
    let hs = Signer::ec().sign_raw(&json!({"alg": "HS256", "kid": "k1"}), &claims());
    assert_eq!(
        check(&hs, &[]).unwrap_err(),
        JwtError::Algorithm("HS256".into())
    );
    let signer = Signer::rsa();
    let rs = signer.sign("k1", &claims());
    assert_eq!(
        decode(&rs, &[Algorithm::Es256]).unwrap_err(),
        JwtError::Algorithm("RS256".into()),
        "RS256 when only ES256 is configured"
    );
}

#[test]
fn a_key_of_another_algorithm_is_not_used() {
    // An ES256 token naming an RSA key's kid: the RSA key is never tried.
    let rsa = Signer::rsa();
    let token = Signer::ec().sign("k1", &claims());
    assert_eq!(
        check(&token, &[rsa.jwk("k1")]).unwrap_err(),
        JwtError::UnknownKey(Some("k1".into()))
    );
    let unverified = decode(&token, &ALL).unwrap();
    assert_eq!(
        unverified
            .verify(&rsa.jwk("k1").key, &expect(), NOW)
            .unwrap_err(),
        JwtError::UnknownKey(Some("k1".into()))
    );
}

#[test]
fn unknown_kids_and_ambiguous_kidless_tokens_find_no_key() {
    let (a, b) = (Signer::ec(), Signer::ec());
    let keys = [a.jwk("a"), b.jwk("b")];
    assert_eq!(
        check(&a.sign("c", &claims()), &keys).unwrap_err(),
        JwtError::UnknownKey(Some("c".into()))
    );
    let kidless = a.sign_raw(&json!({"alg": "ES256"}), &claims());
    assert_eq!(
        check(&kidless, &keys).unwrap_err(),
        JwtError::UnknownKey(None)
    );
    assert!(
        check(&kidless, &keys[..1]).is_ok(),
        "the only ES256 key is the one"
    );
}

#[test]
fn claims_are_checked() {
    let signer = Signer::ed();
    let keys = [signer.jwk("k")];
    let with = |edit: &dyn Fn(&mut Value)| {
        let mut c = claims();
        edit(&mut c);
        check(&signer.sign("k", &c), &keys)
    };
    assert_eq!(
        with(&|c| c["iss"] = json!("https://evil")).unwrap_err(),
        JwtError::Issuer("https://evil".into())
    );
    assert_eq!(
        with(&|c| c["aud"] = json!("other")).unwrap_err(),
        JwtError::Audience
    );
    assert_eq!(
        with(&|c| {
            c.as_object_mut().unwrap().remove("aud");
        })
        .unwrap_err(),
        JwtError::Audience
    );
    assert!(
        with(&|c| c["aud"] = json!("datastorage")).is_ok(),
        "aud as a string"
    );
    assert_eq!(
        with(&|c| c["exp"] = json!(NOW - 31)).unwrap_err(),
        JwtError::Expired
    );
    assert!(
        with(&|c| c["exp"] = json!(NOW - 29)).is_ok(),
        "within the leeway"
    );
    assert_eq!(
        with(&|c| {
            c.as_object_mut().unwrap().remove("exp");
        })
        .unwrap_err(),
        JwtError::Malformed("no numeric exp")
    );
    assert_eq!(
        with(&|c| c["nbf"] = json!(NOW + 31)).unwrap_err(),
        JwtError::NotYetValid
    );
    assert!(with(&|c| c["nbf"] = json!(NOW + 29)).is_ok());
    assert_eq!(
        with(&|c| c["sub"] = json!("")).unwrap_err(),
        JwtError::Subject
    );
    assert_eq!(
        with(&|c| c["sub"] = json!(7)).unwrap_err(),
        JwtError::Subject
    );
}

#[test]
fn malformed_tokens_and_crit_are_refused() {
    let signer = Signer::ec();
    for bad in [
        "",
        "a.b",
        "a.b.c.d",
        "!!.e30.AA",
        &"a".repeat(MAX_TOKEN_BYTES + 1),
    ] {
        assert!(
            matches!(decode(bad, &ALL), Err(JwtError::Malformed(_))),
            "{bad:.20}"
        );
    }
    let crit = signer.sign_raw(
        &json!({"alg": "ES256", "kid": "k", "crit": ["exp"]}),
        &claims(),
    );
    assert_eq!(decode(&crit, &ALL).unwrap_err(), JwtError::Critical);
}

#[test]
fn jwks_keeps_only_usable_signature_keys() {
    let ec = Signer::ec();
    let PublicKey::P256(point) = ec.jwk("x").key else {
        unreachable!()
    };
    let x = URL_SAFE_NO_PAD.encode(&point[1..33]);
    let y = URL_SAFE_NO_PAD.encode(&point[33..]);
    let doc = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "good", "x": x, "y": y, "use": "sig", "alg": "ES256"},
        {"kty": "EC", "crv": "P-256", "kid": "enc", "x": x, "y": y, "use": "enc"},
        {"kty": "EC", "crv": "P-256", "kid": "mislabelled", "x": x, "y": y, "alg": "RS256"},
        {"kty": "EC", "crv": "P-384", "kid": "p384", "x": x, "y": y},
        {"kty": "EC", "crv": "P-256", "kid": "short", "x": "AAAA", "y": y},
        {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
        {"kty": "RSA", "kid": "rsa", "n": "AAEC", "e": "AQAB"},
    ]});
    let keys = parse_jwks(doc.to_string().as_bytes()).unwrap();
    let kids: Vec<_> = keys.iter().filter_map(|k| k.kid.as_deref()).collect();
    assert_eq!(kids, ["good", "rsa"]);
    assert_eq!(
        keys[1].key,
        PublicKey::Rsa {
            n: vec![1, 2],
            e: vec![1, 0, 1]
        },
        "leading zeros dropped"
    );
    assert!(parse_jwks(b"{}").is_err());
    assert!(parse_jwks(b"not json").is_err());
}
