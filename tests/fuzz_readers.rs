//! Property tests over arbitrary bytes for every reader a stranger's file reaches: MIDI files
//! (and clips), model files and their metadata, the copy index beside a model, the project
//! state's saved melody, ratings
//! lines, dropped URI lists, and typed chords. Each must answer with a value or a clear
//! error, never a panic, a hang or an allocation the input's size does not bound.
//!
//! No coverage-guided fuzzer runs here (cargo fuzz needs a nightly toolchain, which this
//! workplace cannot fetch): proptest draws arbitrary bytes and mutations of real files, for a
//! bounded number of cases a target (`NEUME_FUZZ_CASES`, default 20,000, under 5 s of CPU a target
//! on one core in a debug build). A failing input is kept by proptest in
//! `tests/fuzz_readers.proptest-regressions` and run first from then on.

use std::path::Path;

use neume::encoding::Meter;
use neume::music::chords::{Chord, Progression};
use neume::music::midi;
use neume::taste::preference::Preference;
use neume::taste::ratings::Ratings;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    let cases =
        std::env::var("NEUME_FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(20_000);
    ProptestConfig {
        cases,
        failure_persistence: ProptestConfig::default().failure_persistence,
        ..ProptestConfig::default()
    }
}

/// A small valid MIDI file, to mutate (Neume's own writer, with a chord track).
fn valid_midi() -> Vec<u8> {
    let melody = neume::encoding::Melody {
        notes: (0..8)
            .map(|i| neume::encoding::Note { pitch: 60 + i as u8, start_step: 4 * i, len_steps: 4 })
            .collect(),
        len_steps: 32,
    };
    let options = midi::WriteOptions {
        chords: Progression::parse("C G", Meter::FourFour).ok(),
        ..midi::WriteOptions::default()
    };
    midi::write_bytes(&melody, &options)
}

/// Mutations of `base`: each `(position, byte)` overwrites one byte (positions wrap), and
/// the result may be cut short.
fn mutated(base: &[u8], edits: &[(usize, u8)], cut: Option<usize>) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for &(at, b) in edits {
        let len = bytes.len();
        bytes[at % len] = b;
    }
    if let Some(cut) = cut {
        bytes.truncate(cut % (bytes.len() + 1));
    }
    bytes
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn midi_reader_answers_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = midi::read_bytes(&bytes, Path::new("fuzz.mid"));
    }

    #[test]
    fn midi_reader_answers_mutated_files(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..8),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutated(&valid_midi(), &edits, cut);
        if let Ok(file) = midi::read_bytes(&bytes, Path::new("fuzz.mid")) {
            // What reads as a melody is one a clip and chords can be made of.
            prop_assert!(file.melody.notes.iter().all(|n| n.len_steps > 0));
            if let Some((meter, _)) =
                Meter::for_signature(file.time_signature.numerator, file.time_signature.denominator)
            {
                let _ = neume::music::clip::Clip::new(&file.melody, meter);
                let _ = Progression::from_notes(&file.harmony, meter, 4);
            }
        }
    }

    #[test]
    fn model_files_answer_mutations(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
    ) {
        let bytes = mutated(neume::DEFAULT_ENCODER, &edits, cut);
        let _ = neume::model::model_file::validate_role(&bytes, "fuzz.onnx", neume::model::model_file::Role::Encoder);
        let bytes = mutated(neume::DEFAULT_MODEL, &edits, cut);
        let _ = neume::model::model_file::validate(&bytes, "fuzz.onnx");
    }

    #[test]
    fn model_files_answer_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        let _ = neume::model::model_file::validate(&bytes, "fuzz.onnx");
    }

    #[test]
    fn saved_melodies_answer_arbitrary_json(text in "\\PC{0,200}", n in any::<u32>(), p in any::<u32>()) {
        // Arbitrary text, and well-formed state with arbitrary numbers.
        if let Ok(saved) = serde_json::from_str::<neume::plugin::worker::state::SavedMelody>(&text) {
            let _ = saved.check();
        }
        let json = format!(r#"{{"version":2,"key":1,"len_steps":{n},"notes":[[{p},{n},{p}]],"latent":[1e30],"meter":"{text:?}"}}"#);
        if let Ok(saved) = serde_json::from_str::<neume::plugin::worker::state::SavedMelody>(&json) {
            if saved.check().is_ok() {
                prop_assert!(saved.melody().notes.len() <= 1);
            }
        }
    }

    #[test]
    fn ratings_files_answer_arbitrary_lines(
        lines in proptest::collection::vec("\\PC{0,80}", 0..6),
        latent in proptest::collection::vec(any::<f32>(), 1..6),
        rating in any::<i8>(),
    ) {
        let dir = std::env::temp_dir().join(format!("neume-fuzz-ratings-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ratings.jsonl");
        let line = serde_json::json!({
            "rating": rating, "latent": latent, "model": "m", "seed": 1, "time": 1
        });
        let text = lines.join("\n") + "\n" + &line.to_string() + "\n";
        std::fs::write(&path, text).unwrap();
        let ratings = Ratings::load(&path, "m").unwrap();
        // Every kept point is finite and bounded, and the taste fitted to them is finite.
        for r in &ratings.entries {
            prop_assert!(r.is_usable());
        }
        let (taste, _) = Preference::of_ratings(&ratings.entries, 5);
        let mut rng = neume::rng::Rng::new(1);
        prop_assert!(taste.draw(0.5, &mut rng).iter().all(|v| v.is_finite()));
    }

    #[test]
    fn dropped_uris_answer_arbitrary_text(text in "\\PC{0,120}") {
        let _ = neume::plugin::editor::drag_out::uri_path(&text);
        let _ = neume::plugin::editor::drag_out::uri_path(&format!("file://{text}"));
    }

    #[test]
    fn typed_chords_answer_arbitrary_text(text in "\\PC{0,60}") {
        let _ = Chord::parse(&text);
        for meter in Meter::ALL {
            if let Ok(p) = Progression::parse(&text, meter) {
                prop_assert_eq!(p.len_steps % meter.bar_steps() as u32, 0);
                prop_assert_eq!(Progression::parse(&p.to_text(), meter).unwrap(), p);
            }
        }
    }
}

/// A ratings file of 2,000 likes, one with a point of 1e30 and one with NaN: the two are
/// unreadable lines, only the newest 400 count, and the taste's draw is finite (before: the
/// huge point made the kernel overflow, and every line counted in a cubic fit).
#[test]
fn a_ratings_file_is_bounded() {
    let dir = std::env::temp_dir().join(format!("neume-ratings-bound-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ratings.jsonl");
    let mut text = String::new();
    for i in 0..2000 {
        let v = (i % 7) as f32 * 0.1;
        text += &format!(
            "{{\"rating\":1,\"latent\":[{v},0.5,-0.5],\"model\":\"m\",\"seed\":{i},\"time\":1}}\n"
        );
    }
    text += "{\"rating\":1,\"latent\":[1e30,0,0],\"model\":\"m\",\"seed\":1,\"time\":1}\n";
    text += "{\"rating\":-1,\"latent\":[NaN,0,0],\"model\":\"m\",\"seed\":1,\"time\":1}\n";
    std::fs::write(&path, text).unwrap();
    let ratings = Ratings::load(&path, "m").unwrap();
    assert_eq!(ratings.entries.len(), neume::taste::ratings::MAX_RATINGS);
    assert_eq!(ratings.unreadable_lines, 2);
    assert_eq!(ratings.entries.last().unwrap().seed, 1999, "the newest count");
    let (taste, _) = Preference::of_ratings(&ratings.entries, 3);
    assert!(taste.draw(0.5, &mut neume::rng::Rng::new(1)).iter().all(|v| v.is_finite()));
    std::fs::remove_dir_all(&dir).ok();
}

proptest! {
    // A copy index is 1.8 MB to copy and read per case: a sixtieth of the cases (about 17 s
    // in a debug build).
    #![proptest_config(ProptestConfig { cases: config().cases / 60, ..config() })]

    #[test]
    fn copy_indexes_answer_mutations(
        edits in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6),
        cut in proptest::option::of(any::<usize>()),
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let mutated_index = mutated(neume::DEFAULT_COPIES, &edits, cut);
        if let Ok(index) = neume::music::copies::CopyIndex::from_bytes(&mutated_index, "fuzz.copies") {
            let melody = midi::read_bytes(&valid_midi(), Path::new("x.mid")).unwrap().melody;
            let _ = index.check(&melody, Meter::FourFour);
        }
        let _ = neume::music::copies::CopyIndex::from_bytes(&bytes, "fuzz.copies");
    }
}
