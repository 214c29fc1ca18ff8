//! What a write of an AOR's bindings changes against the cached set, so that the store
//! writes no more than that (see [`SetChange`]).

use crate::store::{Binding, SetChange};

/// What replacing `old` (the cached set, expired bindings included until the sweep; `None`
/// when the AOR was not cached) with `new` changes in the written-behind rows: the rows
/// of a contact not in `new` must go; a set of the same contacts that moved only their
/// expiry, Call-ID or CSeq (a refresh) updates those columns. Compared as stored, contact
/// text for contact text (the store's key); a refresh that respells a contact counts as
/// dropping the old spelling.
pub(super) fn change(old: Option<&[Binding]>, new: &[Binding]) -> SetChange {
    let Some(old) = old else {
        return SetChange::Replace;
    };
    // Contacts are unique in a set: as many, each found, is the same contacts.
    let mut refreshed = old.len() == new.len();
    for o in old {
        match new.iter().find(|b| b.contact == o.contact) {
            None => return SetChange::Replace,
            Some(b) => refreshed &= only_times_moved(o, b),
        }
    }
    if refreshed {
        SetChange::Refresh
    } else {
        SetChange::Grow
    }
}

/// Whether `b` differs from `o` in nothing but what a refresh moves.
fn only_times_moved(o: &Binding, b: &Binding) -> bool {
    let Binding {
        aor,
        contact,
        q,
        expires_at: _,
        call_id: _,
        cseq: _,
        instance,
        reg_id,
        flow,
        user_agent,
    } = o;
    *aor == b.aor
        && *contact == b.contact
        && *q == b.q
        && *instance == b.instance
        && *reg_id == b.reg_id
        && *flow == b.flow
        && *user_agent == b.user_agent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Aor;

    #[test]
    fn a_write_drops_what_the_cached_set_had_and_the_new_one_lacks() {
        let aor = Aor::parse("zoe@example.com").unwrap();
        let at =
            |contact: &str, expires| crate::store::battery::binding_for(&aor, contact, expires);
        let (a, b) = (at("sip:zoe@10.0.0.1", 100), at("sip:zoe@10.0.0.2", 100));
        let mut a_refreshed = at("sip:zoe@10.0.0.1", 900);
        a_refreshed.call_id = "another call".into();
        a_refreshed.cseq += 7;
        let check = |old: Option<Vec<Binding>>, new: Vec<Binding>| change(old.as_deref(), &new);
        assert_eq!(
            check(None, vec![a.clone()]),
            SetChange::Replace,
            "not cached"
        );
        assert_eq!(
            check(Some(vec![a.clone()]), vec![a_refreshed.clone()]),
            SetChange::Refresh
        );
        assert_eq!(
            check(
                Some(vec![a.clone(), b.clone()]),
                vec![b.clone(), a_refreshed.clone()]
            ),
            SetChange::Refresh,
            "in another order"
        );
        assert_eq!(
            check(Some(vec![a.clone()]), vec![a_refreshed.clone(), b.clone()]),
            SetChange::Grow
        );
        assert_eq!(check(Some(vec![]), vec![a.clone()]), SetChange::Grow);
        assert_eq!(check(Some(vec![]), vec![]), SetChange::Refresh);
        assert_eq!(
            check(Some(vec![a.clone(), b.clone()]), vec![b.clone()]),
            SetChange::Replace
        );
        assert_eq!(check(Some(vec![a.clone()]), vec![]), SetChange::Replace);
        let respelled = at("sip:ZOE@10.0.0.1", 900);
        assert_eq!(
            change(Some(std::slice::from_ref(&a)), &[respelled]),
            SetChange::Replace
        );
        // Anything but expiry, Call-ID and CSeq moved: the row is rewritten whole.
        let moved: [fn(&mut Binding); 5] = [
            |b| b.q = Some(100),
            |b| b.instance = Some("<urn:uuid:2>".into()),
            |b| b.reg_id = Some(2),
            |b| b.flow.remote = "10.9.9.9:5060".into(),
            |b| b.user_agent = Some("other".into()),
        ];
        for (i, m) in moved.iter().enumerate() {
            let mut n = a_refreshed.clone();
            m(&mut n);
            assert_eq!(
                change(Some(std::slice::from_ref(&a)), &[n]),
                SetChange::Grow,
                "change {i}"
            );
        }
    }
}
