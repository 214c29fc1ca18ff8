//! Date (RFC 3261 §20.17): an RFC 1123 date, and only `GMT` as the zone.

/// Whether `s` is `wkday "," SP 2DIGIT SP month SP 4DIGIT SP hh:mm:ss SP "GMT"`.
pub fn is_valid_sip_date(s: &str) -> bool {
    const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_ascii_whitespace().collect();
    let [day, dd, mon, yyyy, time, zone] = parts[..] else {
        return false;
    };
    let digits = |x: &str, n: usize| x.len() == n && x.bytes().all(|c| c.is_ascii_digit());
    let time_ok = {
        let t: Vec<&str> = time.split(':').collect();
        t.len() == 3 && t.iter().all(|x| digits(x, 2))
    };
    day.strip_suffix(',').is_some_and(|d| DAYS.contains(&d))
        && digits(dd, 2)
        && MONTHS.contains(&mon)
        && digits(yyyy, 4)
        && time_ok
        && zone == "GMT"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_gmt() {
        assert!(is_valid_sip_date("Sat, 13 Nov 2010 23:29:00 GMT"));
        assert!(!is_valid_sip_date("Fri, 01 Jan 2010 16:00:00 EST"));
        assert!(!is_valid_sip_date("Fri 01 Jan 2010 16:00:00 GMT"));
    }
}
