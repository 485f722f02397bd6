//! Language detection by whatlang, per document (a sample of a few thousand characters), limited
//! to the languages the index serves, with "und" (undetermined) when the detector is unsure.
//! A language declared by the file is used only when detection cannot decide, because office
//! files often carry the author's default language rather than the text's.

use whatlang::{Detector, Lang};

use crate::config::LanguageSettings;

/// Whether `l` has the shape of a language code: two or three lower-case letters (ISO 639-1, or
/// "und").
pub fn is_code(l: &str) -> bool {
    (2..=3).contains(&l.len()) && l.chars().all(|c| c.is_ascii_lowercase())
}

/// The ISO 639-1 code of a whatlang language, for the languages we serve and a few neighbours.
fn iso639_1(lang: Lang) -> &'static str {
    match lang {
        Lang::Eng => "en",
        Lang::Fra => "fr",
        Lang::Spa => "es",
        Lang::Por => "pt",
        Lang::Deu => "de",
        Lang::Ita => "it",
        Lang::Nld => "nl",
        Lang::Swe => "sv",
        Lang::Dan => "da",
        Lang::Nob => "no",
        Lang::Fin => "fi",
        Lang::Pol => "pl",
        Lang::Rus => "ru",
        Lang::Ara => "ar",
        Lang::Hin => "hi",
        Lang::Ben => "bn",
        Lang::Urd => "ur",
        Lang::Ind => "id",
        Lang::Tur => "tr",
        Lang::Vie => "vi",
        Lang::Cmn => "zh",
        Lang::Amh => "am",
        _ => lang.code(),
    }
}

fn from_code(code: &str) -> Option<Lang> {
    match code {
        "en" => Some(Lang::Eng),
        "fr" => Some(Lang::Fra),
        "es" => Some(Lang::Spa),
        "pt" => Some(Lang::Por),
        _ => None,
    }
}

/// Normalises a declared language ("fr-FR", "pt_BR", "English") to ISO 639-1.
pub fn normalise_declared(s: &str) -> Option<String> {
    let l = s.trim().to_ascii_lowercase();
    let head = l.split(['-', '_', ' ']).next().unwrap_or("");
    let code = match head {
        "english" | "anglais" | "ingles" | "inglés" | "eng" => "en",
        "french" | "francais" | "français" | "fra" | "fre" => "fr",
        "spanish" | "espagnol" | "espanol" | "español" | "spa" => "es",
        "portuguese" | "portugais" | "portugues" | "português" | "por" => "pt",
        h if h.len() == 2 && h.chars().all(|c| c.is_ascii_lowercase()) => h,
        _ => return None,
    };
    Some(code.to_string())
}

/// Detects the language of `text`. Returns an ISO 639-1 code (or "und") and a confidence.
pub fn detect(text: &str, declared: Option<&str>, settings: &LanguageSettings) -> (String, f64) {
    let sample: String = text.chars().take(settings.sample_chars).collect();
    let declared = declared.and_then(normalise_declared);
    // A text in a language we do not serve (German, say) is recognised as such, not forced into
    // the nearest served language.
    if let Some(info) = whatlang::detect(&sample) {
        let code = iso639_1(info.lang());
        // Reliable either way: a served language needs no second, restricted detection.
        if info.is_reliable() && info.confidence() >= settings.min_confidence {
            return (code.to_string(), round2(info.confidence()));
        }
    }
    let allow: Vec<Lang> = settings.served.iter().filter_map(|c| from_code(c)).collect();
    if !allow.is_empty() {
        if let Some(info) = Detector::with_allowlist(allow).detect(&sample) {
            if info.confidence() >= settings.min_confidence || (info.is_reliable() && declared.is_none()) {
                return (iso639_1(info.lang()).to_string(), round2(info.confidence()));
            }
        }
    }
    match declared {
        Some(d) => (d, 1.0),
        None => ("und".to_string(), 0.0),
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn settings() -> LanguageSettings {
        Config::builtin().unwrap().settings.languages
    }

    #[test]
    fn detects_the_four_languages() {
        let s = settings();
        let cases = [
            ("en", "The water committee stopped collecting fees after the NGO left, and the pump broke down in the dry season."),
            ("fr", "Le comité de gestion a cessé de collecter les cotisations après le départ de l'ONG, et la pompe est tombée en panne."),
            ("es", "La junta de agua dejó de cobrar la tarifa cuando terminó el proyecto y la bomba se averió en la época seca."),
            ("pt", "O comitê de água deixou de cobrar a tarifa quando o projeto terminou e a bomba quebrou durante a estação seca."),
        ];
        for (want, text) in cases {
            assert_eq!(detect(text, None, &s).0, want, "{text}");
        }
    }

    #[test]
    fn unsure_falls_back_to_declared_or_und() {
        let s = settings();
        assert_eq!(detect("", None, &s).0, "und");
        assert_eq!(detect("", Some("fr-FR"), &s).0, "fr");
        assert_eq!(detect("12 34 56", None, &s).0, "und");
    }

    #[test]
    fn declared_normalised() {
        assert_eq!(normalise_declared("pt_BR").as_deref(), Some("pt"));
        assert_eq!(normalise_declared("Español").as_deref(), Some("es"));
        assert_eq!(normalise_declared("x-unknown"), None);
    }
}
