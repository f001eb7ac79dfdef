//! Fossil delta compression shared by live delivery and recovery: when a patch is worth sending,
//! and the delta chain of recovered publications.

use bytes::Bytes;

use gyre_protocol::json::is_valid_json;
use gyre_protocol::{fossil, Publication};

/// The patch turning `prev` into `payload`, or `None` when it is not smaller than the payload
/// (then the reference, and Gyre, send the payload itself with `delta: false`).
pub(crate) fn patch(prev: &[u8], payload: &[u8]) -> Option<Vec<u8>> {
    let patch = fossil::create(prev, payload);
    (patch.len() < payload.len()).then_some(patch)
}

/// Whether a JSON client can be sent this payload on a delta subscription, where it travels as a
/// JSON string: it must be JSON, as for plain subscribers (an empty payload passes, as it does
/// there). This also makes it UTF-8, so the string carries exactly the bytes patches apply to.
pub(crate) fn json_payload_ok(payload: &[u8]) -> bool {
    payload.is_empty() || is_valid_json(payload)
}

/// Whether a patch can travel in a JSON string: fossil cuts inserted literals at byte
/// boundaries, so a patch between UTF-8 payloads may split a character. Gyre then sends the full
/// payload, which a JSON string can carry.
pub(crate) fn json_patch_ok(patch: &[u8]) -> bool {
    std::str::from_utf8(patch).is_ok()
}

/// Delta-chains recovered publications for a delta subscription: the first one full, each
/// following one a patch against the one before it when that is worth it. `None` when a payload
/// cannot be sent to a JSON client at all.
pub(super) fn chain(publications: Vec<Publication>, json: bool) -> Option<Vec<Publication>> {
    if json && !publications.iter().all(|p| json_payload_ok(&p.data)) {
        return None;
    }
    let mut prev: Option<Bytes> = None;
    let chained = publications
        .into_iter()
        .map(|mut p| {
            let full = p.data.clone();
            if let Some(patch) = prev.as_deref().and_then(|prev| patch(prev, &full)) {
                if !json || json_patch_ok(&patch) {
                    p.data = Bytes::from(patch);
                    p.delta = true;
                }
            }
            prev = Some(full);
            p
        })
        .collect();
    Some(chained)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn publication(offset: u64, data: &str) -> Publication {
        Publication {
            offset,
            data: Bytes::copy_from_slice(data.as_bytes()),
            ..Default::default()
        }
    }

    fn doc(n: u32) -> String {
        format!(r#"{{"n":{n},"filler":"{}"}}"#, "abcdefgh".repeat(20))
    }

    #[test]
    fn chain_is_full_then_patches_that_apply() {
        let pubs: Vec<_> = (1..=4).map(|n| publication(n.into(), &doc(n))).collect();
        let chained = chain(pubs, true).unwrap();
        assert!(!chained[0].delta);
        assert_eq!(chained[0].data, doc(1).as_bytes());
        let mut current = chained[0].data.to_vec();
        for (p, n) in chained.iter().zip(1..).skip(1) {
            assert!(p.delta, "publication {n} should be a patch");
            current = fossil::apply(&current, &p.data).unwrap();
            assert_eq!(current, doc(n).as_bytes());
        }
    }

    #[test]
    fn chain_sends_full_when_patch_is_not_smaller() {
        let chained = chain(vec![publication(1, "1"), publication(2, "2")], true).unwrap();
        assert!(chained.iter().all(|p| !p.delta));
        assert_eq!(chained[1].data.as_ref(), b"2");
    }

    #[test]
    fn chain_refuses_non_json_for_json_clients_only() {
        let binary = Publication {
            offset: 1,
            data: Bytes::from_static(b"\xff\x00"),
            ..Default::default()
        };
        assert!(chain(vec![binary.clone()], true).is_none());
        assert!(chain(vec![binary], false).is_some());
    }
}
