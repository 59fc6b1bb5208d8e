//! The tour's TLS cryptography with its randomness seeded, so that a run repeats byte for byte.
//!
//! TLS draws random numbers in three places a capture shows: the client's and the server's
//! `random` (32 bytes each in the ClientHello and ServerHello), the legacy session ID, and the
//! key exchange's ephemeral secrets (the X25519 key shares). Real TLS must draw them from the
//! operating system, unpredictably: anyone who can guess them can decrypt the connection. The
//! tour draws them from a seeded generator instead, the same every run, so that its capture and
//! key log are the same bytes every time, like its other captures. **Never do this outside a
//! demo.** Everything else (AES-GCM, SHA-256, the Ed25519 signatures, certificate checks) is
//! rustls's usual ring provider, and Ed25519 signatures are deterministic by design (RFC 8032).
//!
//! The certificates are made the same way: a small certificate authority ("tunstack tour CA")
//! and the server's certificate for `www.course.test`, signed by it, both with Ed25519 keys made
//! from seeded bytes. The client trusts the CA, as a browser trusts the authorities its system
//! ships, and checks the server's certificate against it at a fixed time (the captures' date).

use std::sync::{Arc, LazyLock, Mutex, PoisonError};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, IsCa, Issuer, KeyPair,
};
use rustls::crypto::{
    ActiveKeyExchange, CryptoProvider, GetRandomFailed, SecureRandom, SharedSecret,
    SupportedKxGroup,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, UnixTime};
use rustls::time_provider::TimeProvider;
use rustls::{NamedGroup, PeerMisbehaved};

/// The generator behind every random byte of the tour's TLS: seeded, so not random at all.
#[derive(Debug)]
struct Seeded(Mutex<fastrand::Rng>);

impl Seeded {
    fn fill(&self, buf: &mut [u8]) {
        let mut rng = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        rng.fill(buf);
    }
}

static RANDOM: LazyLock<Seeded> = LazyLock::new(|| Seeded(Mutex::new(fastrand::Rng::with_seed(9))));

/// rustls's source of random bytes, here the seeded generator.
#[derive(Debug)]
struct TourRandom;

impl SecureRandom for TourRandom {
    fn fill(&self, buf: &mut [u8]) -> Result<(), GetRandomFailed> {
        RANDOM.fill(buf);
        Ok(())
    }
}

/// X25519 (RFC 7748) with its ephemeral secret from the seeded generator: rustls's own draws
/// from the operating system.
#[derive(Debug)]
struct TourX25519;

impl SupportedKxGroup for TourX25519 {
    fn start(&self) -> Result<Box<dyn ActiveKeyExchange>, rustls::Error> {
        let mut secret = [0u8; 32];
        RANDOM.fill(&mut secret);
        let secret = x25519_dalek::StaticSecret::from(secret);
        let public = x25519_dalek::PublicKey::from(&secret);
        Ok(Box::new(KeyShare { secret, public }))
    }

    fn name(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// One side's half of the exchange: the secret it keeps, the public key it sends.
struct KeyShare {
    secret: x25519_dalek::StaticSecret,
    public: x25519_dalek::PublicKey,
}

impl ActiveKeyExchange for KeyShare {
    fn complete(self: Box<Self>, peer: &[u8]) -> Result<SharedSecret, rustls::Error> {
        let peer: [u8; 32] = peer
            .try_into()
            .map_err(|_| rustls::Error::from(PeerMisbehaved::InvalidKeyShare))?;
        let shared = self
            .secret
            .diffie_hellman(&x25519_dalek::PublicKey::from(peer));
        // RFC 7748 6.1: an all-zero result means the peer sent a low-order point.
        if !shared.was_contributory() {
            return Err(PeerMisbehaved::InvalidKeyShare.into());
        }
        Ok(SharedSecret::from(&shared.as_bytes()[..]))
    }

    fn pub_key(&self) -> &[u8] {
        self.public.as_bytes()
    }

    fn group(&self) -> NamedGroup {
        NamedGroup::X25519
    }
}

/// rustls's ring provider (the demos' [`default_provider`](tunstack_demos::tls::default_provider))
/// with the seeded randomness and key exchange.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(CryptoProvider {
        kx_groups: vec![&TourX25519],
        secure_random: &TourRandom,
        ..Arc::unwrap_or_clone(tunstack_demos::tls::default_provider())
    })
}

/// The clock the client checks certificates by: always the captures' date.
#[derive(Debug)]
pub struct FixedClock(pub u64);

impl TimeProvider for FixedClock {
    fn current_time(&self) -> Option<UnixTime> {
        Some(UnixTime::since_unix_epoch(std::time::Duration::from_secs(
            self.0,
        )))
    }
}

/// The certificates the tour's server presents, and the authority its client trusts.
pub struct Certificates {
    /// The server's chain: its own certificate, then the CA's.
    pub chain: Vec<CertificateDer<'static>>,
    /// The server's private key.
    pub key: PrivateKeyDer<'static>,
    /// The CA's certificate: the client's trust anchor.
    pub ca: CertificateDer<'static>,
}

/// An Ed25519 key whose 32-byte seed comes from the seeded generator, as PKCS#8 (RFC 8410 7:
/// a fixed 16-byte prefix, then the seed).
fn seeded_key() -> Result<(KeyPair, PrivatePkcs8KeyDer<'static>), rcgen::Error> {
    const PREFIX: [u8; 16] = [
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    let mut der = PREFIX.to_vec();
    let mut seed = [0u8; 32];
    RANDOM.fill(&mut seed);
    der.extend_from_slice(&seed);
    let pkcs8 = PrivatePkcs8KeyDer::from(der);
    let key = KeyPair::try_from(&pkcs8)?;
    Ok((key, pkcs8))
}

fn name(common: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common);
    name
}

/// The CA and the server's certificate for `host`.
pub fn certificates(host: &str) -> Result<Certificates, rcgen::Error> {
    let (ca_key, _) = seeded_key()?;
    let mut ca_params = CertificateParams::new(Vec::new())?;
    ca_params.distinguished_name = name("tunstack tour CA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca_params, ca_key);

    let (server_key, server_pkcs8) = seeded_key()?;
    let mut params = CertificateParams::new(vec![host.to_string()])?;
    params.distinguished_name = name(host);
    let server = params.signed_by(&server_key, &issuer)?;
    Ok(Certificates {
        chain: vec![server.der().clone(), ca.der().clone()],
        key: PrivateKeyDer::Pkcs8(server_pkcs8),
        ca: ca.der().clone(),
    })
}
