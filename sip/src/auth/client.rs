//! The client side of digest (RFC 7616 §3.4): answering a challenge. Herald needs it when
//! it authenticates to another server (a PBX, a federated peer), and tests use it to
//! play a client.

use super::{ha1, Challenge};

impl Challenge {
    /// The `Authorization` / `Proxy-Authorization` value answering this challenge for
    /// `method` on `uri`, with nonce count `nc` and client nonce `cnonce` (qop=auth).
    pub fn answer(
        &self,
        user: &str,
        password: &str,
        method: &str,
        uri: &str,
        nc: u32,
        cnonce: &str,
    ) -> String {
        let h = ha1(self.algorithm, user, &self.realm, password);
        let nc_text = format!("{nc:08x}");
        let ha2 = self.algorithm.hex(&[method, uri]);
        let resp = self
            .algorithm
            .hex(&[&h, &self.nonce, &nc_text, cnonce, "auth", &ha2]);
        format!(
            "Digest username=\"{user}\", realm=\"{}\", nonce=\"{}\", uri=\"{uri}\", response=\"{resp}\", \
             algorithm={}, cnonce=\"{cnonce}\", qop=auth, nc={nc_text}",
            self.realm,
            self.nonce,
            self.algorithm.as_str()
        )
    }
}
