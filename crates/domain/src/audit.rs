//! The audit trail's chain. Each entry's hash covers its own fields and the hash of the entry before it, so an
//! entry changed in place (even with its own hash made again) or taken out breaks the chain at that point;
//! `verify` says where it first breaks.

use sha2::{Digest, Sha256};

/// An entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// 1, 2, 3, … with no gaps.
    pub seq: i64,
    /// When (µs since the epoch).
    pub at: i64,
    /// Who: a staff key's id, `admin` for the start-up key, a customer's id, or `anonymous`.
    pub actor: String,
    pub action: String,
    /// What it was done to.
    pub subject: String,
    pub request_id: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hash of the entry `seq` with these fields, after the entry whose hash is `prev_hash` (empty for the
/// first). Each field goes in with its length, so no two different entries hash alike by moving a boundary.
pub fn chain_hash(
    prev_hash: &str,
    seq: i64,
    at: i64,
    actor: &str,
    action: &str,
    subject: &str,
    request_id: &str,
) -> String {
    let mut h = Sha256::new();
    let fields: [&[u8]; 7] = [
        prev_hash.as_bytes(),
        &seq.to_be_bytes(),
        &at.to_be_bytes(),
        actor.as_bytes(),
        action.as_bytes(),
        subject.as_bytes(),
        request_id.as_bytes(),
    ];
    for field in fields {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field);
    }
    hex::encode(h.finalize())
}

impl AuditEntry {
    /// The entry that follows `prev` (or is the first), with its hash.
    pub fn next(
        prev: Option<&AuditEntry>,
        at: i64,
        actor: &str,
        action: &str,
        subject: &str,
        request_id: &str,
    ) -> AuditEntry {
        let (seq, prev_hash) = prev.map_or((1, String::new()), |p| (p.seq + 1, p.hash.clone()));
        let hash = chain_hash(&prev_hash, seq, at, actor, action, subject, request_id);
        AuditEntry {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            subject: subject.into(),
            request_id: request_id.into(),
            prev_hash,
            hash,
        }
    }

    fn computed_hash(&self) -> String {
        chain_hash(&self.prev_hash, self.seq, self.at, &self.actor, &self.action, &self.subject, &self.request_id)
    }
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Break {
    #[error("entry {seq} was changed: its hash does not match what it says")]
    Changed { seq: i64 },
    #[error("entry {seq} was changed: the entry after it does not follow from it")]
    Relinked { seq: i64 },
    #[error("entry {seq} is missing")]
    Missing { seq: i64 },
}

/// Checks a chain given in order, one entry at a time (`Verifier::check`), so a long trail need not be held
/// in memory.
#[derive(Debug, Default)]
pub struct Verifier {
    last: Option<(i64, String)>,
    checked: u64,
}

impl Verifier {
    pub fn check(&mut self, e: &AuditEntry) -> Result<(), Break> {
        let (expected_seq, expected_prev) = match &self.last {
            Some((seq, hash)) => (seq + 1, hash.as_str()),
            None => (1, ""),
        };
        if e.seq != expected_seq {
            return Err(Break::Missing { seq: expected_seq });
        }
        if e.computed_hash() != e.hash {
            return Err(Break::Changed { seq: e.seq });
        }
        if e.prev_hash != expected_prev {
            return Err(Break::Relinked { seq: e.seq - 1 });
        }
        self.last = Some((e.seq, e.hash.clone()));
        self.checked += 1;
        Ok(())
    }

    /// How many entries were found sound.
    pub fn checked(&self) -> u64 {
        self.checked
    }
}

/// Checks a whole chain.
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> Result<u64, Break> {
    let mut v = Verifier::default();
    for e in entries {
        v.check(e)?;
    }
    Ok(v.checked())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn chain(n: usize) -> Vec<AuditEntry> {
        let mut out: Vec<AuditEntry> = Vec::new();
        for i in 0..n {
            let e = AuditEntry::next(out.last(), i as i64 * 10, "key_a", &format!("act {i}"), "ord_1", "req");
            out.push(e);
        }
        out
    }

    #[test]
    fn a_sound_chain_verifies() {
        assert_eq!(verify(&chain(5)), Ok(5));
        assert_eq!(verify(&[]), Ok(0));
    }

    proptest! {
        /// Any one entry changed in place is found at that entry; changed with its own hash made again, at the
        /// link to the entry after it. (The newest entry rewritten whole has nothing after it to tell: the
        /// chain's head must be kept elsewhere too for that.)
        #[test]
        fn an_edit_is_found_where_it_is(n in 2usize..30, at in 0usize..30, rehash in any::<bool>()) {
            let at = at % n;
            let mut c = chain(n);
            c[at].subject.push('!');
            if rehash {
                c[at].hash = c[at].computed_hash();
            }
            let expected = match (rehash, at + 1 < n) {
                (false, _) => Err(Break::Changed { seq: at as i64 + 1 }),
                (true, true) => Err(Break::Relinked { seq: at as i64 + 1 }),
                (true, false) => Ok(n as u64),
            };
            prop_assert_eq!(verify(&c), expected);
        }

        /// Any entry but the last taken out is found missing.
        #[test]
        fn a_deletion_is_found(n in 2usize..30, at in 0usize..29) {
            let at = at % (n - 1);
            let mut c = chain(n);
            c.remove(at);
            prop_assert_eq!(verify(&c), Err(Break::Missing { seq: at as i64 + 1 }));
        }
    }
}
