//! Years: from a date string (ISO, PDF `D:YYYYMMDD`, free text), or from the first date written
//! early in the text ("March 2017", "12 juin 2021", "marzo de 2019", "15/03/2018", "2018-03-15").

use std::time::{SystemTime, UNIX_EPOCH};

const MONTHS: [&str; 60] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "janvier",
    "fevrier",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "aout",
    "septembre",
    "octobre",
    "novembre",
    "decembre",
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
    "janeiro",
    "fevereiro",
    "marco",
    "abril",
    "maio",
    "junho",
    "julho",
    "agosto",
    "setembro",
    "outubro",
    "novembro",
    "dezembro",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
];

/// The latest plausible year: next year.
pub fn max_year() -> u32 {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0);
    (1970 + secs / 31_556_952) as u32 + 1
}

fn plausible(y: u32) -> bool {
    (1950..=max_year()).contains(&y)
}

/// The first plausible four-digit year in a date string.
pub fn year_of(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    let mut i = 0;
    while i + 4 <= b.len() {
        if b[i..i + 4].iter().all(u8::is_ascii_digit) && (i == 0 || !b[i - 1].is_ascii_digit()) {
            let y: u32 = s[i..i + 4].parse().ok()?;
            // "D:20190312..." and "20190312": the year is the first four digits of the run.
            if plausible(y) {
                return Some(y);
            }
        }
        i += 1;
    }
    None
}

/// A year standing alone as a word in `s` (used on titles: "Evaluation report 2016").
pub fn year_word(s: &str) -> Option<u32> {
    crate::text::word_spans(s)
        .filter_map(|(a, b)| (b - a == 4).then(|| s[a..b].parse::<u32>().ok()).flatten())
        .find(|&y| plausible(y))
}

/// The year of the first date written in `text`: a month name followed by a year, or a
/// numeric day-month-year or year-month-day date.
pub fn first_date_year(text: &str) -> Option<u32> {
    let words: Vec<(usize, String)> =
        crate::text::word_spans(text).map(|(a, b)| (a, crate::text::fold(&text[a..b]))).collect();
    let mut best: Option<(usize, u32)> = None;
    for (i, (pos, w)) in words.iter().enumerate() {
        if !MONTHS.contains(&w.as_str()) {
            continue;
        }
        let mut j = i + 1;
        while j < words.len() && j <= i + 2 && matches!(words[j].1.as_str(), "de" | "of" | "del") {
            j += 1;
        }
        if let Some((_, y)) = words.get(j) {
            if y.len() == 4 {
                if let Ok(y) = y.parse::<u32>() {
                    if plausible(y) {
                        best = Some((*pos, y));
                        break;
                    }
                }
            }
        }
    }
    // Numeric dates: dd/mm/yyyy, dd.mm.yyyy, dd-mm-yyyy, yyyy-mm-dd.
    let b = text.as_bytes();
    let digits = |i: usize, n: usize| i + n <= b.len() && b[i..i + n].iter().all(u8::is_ascii_digit);
    let limit = best.map(|(p, _)| p).unwrap_or(b.len());
    let mut i = 0;
    while i < limit {
        if i > 0 && b[i - 1].is_ascii_digit() {
            i += 1;
            continue;
        }
        if digits(i, 4)
            && i + 10 <= b.len()
            && b[i + 4] == b'-'
            && digits(i + 5, 2)
            && b[i + 7] == b'-'
            && digits(i + 8, 2)
        {
            if let Some(y) = text[i..i + 4].parse().ok().filter(|&y| plausible(y)) {
                return Some(y);
            }
        }
        for dl in [1, 2] {
            for ml in [1, 2] {
                let (d, m, y) = (i, i + dl + 1, i + dl + 1 + ml + 1);
                if digits(d, dl) && digits(m, ml) && digits(y, 4) && !digits(y + 4, 1) {
                    let sep = b[i + dl];
                    if matches!(sep, b'/' | b'.' | b'-') && b[m + ml] == sep {
                        let day: u32 = text[d..d + dl].parse().unwrap_or(0);
                        let mon: u32 = text[m..m + ml].parse().unwrap_or(0);
                        if (1..=31).contains(&day) && (1..=31).contains(&mon) {
                            if let Some(y) = text[y..y + 4].parse().ok().filter(|&y| plausible(y)) {
                                return Some(y);
                            }
                        }
                    }
                }
            }
        }
        i += 1;
    }
    best.map(|(_, y)| y)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_from_date_strings() {
        assert_eq!(year_of("D:20190312101500+01'00'"), Some(2019));
        assert_eq!(year_of("2016-04-02T10:00:00Z"), Some(2016));
        assert_eq!(year_of("no year"), None);
        assert_eq!(year_of("1234"), None);
    }

    #[test]
    fn first_date_in_text() {
        assert_eq!(first_date_year("Final report\nMarch 2017\nPrepared for..."), Some(2017));
        assert_eq!(first_date_year("Rapport, 12 juin 2021, Ouagadougou"), Some(2021));
        assert_eq!(first_date_year("Informe de marzo de 2019"), Some(2019));
        assert_eq!(first_date_year("Relatório, agosto de 2020"), Some(2020));
        assert_eq!(first_date_year("Meeting held on 15/03/2018 in Kampala; in May 2019 again"), Some(2018));
        assert_eq!(first_date_year("Date: 2018-03-15"), Some(2018));
        assert_eq!(first_date_year("We may return in 300 days"), None);
        assert_eq!(first_date_year("Pumps installed 1998-2004 under phase two"), None);
    }

    #[test]
    fn year_word_in_title() {
        assert_eq!(year_word("Evaluation of the WASH programme 2012-2016"), Some(2012));
        assert_eq!(year_word("Report 12345"), None);
    }
}
