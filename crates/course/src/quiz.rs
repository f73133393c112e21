//! Grading quiz answers and the learner's view of a quiz (which never carries the answers).

use serde::Serialize;

use crate::model::{Answer, Question, QuestionKind, Quiz};

/// Tolerance for comparing sums of points (quarter points and percentages).
const EPSILON: f64 = 1e-9;

/// An answer whose shape does not fit its question (a client bug or a tampered request, never a
/// wrong answer: wrong answers just earn fewer points).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error("Câu trả lời không đúng dạng câu hỏi: câu hỏi là {expected}, câu trả lời là {got}")]
    KindMismatch { expected: &'static str, got: &'static str },
    #[error("Lựa chọn số {} không có trong câu hỏi (câu hỏi có {count} lựa chọn)", .index + 1)]
    OptionOutOfRange { index: usize, count: usize },
    #[error("Lựa chọn số {} được chọn hai lần", .index + 1)]
    DuplicateOption { index: usize },
    #[error("Câu ghép đôi có {expected} vế, câu trả lời ghép {got} vế")]
    MatchingLength { expected: usize, got: usize },
}

impl AnswerError {
    /// A stable identifier for API clients.
    pub fn code(&self) -> &'static str {
        match self {
            AnswerError::KindMismatch { .. } => "answer_kind_mismatch",
            AnswerError::OptionOutOfRange { .. } => "option_out_of_range",
            AnswerError::DuplicateOption { .. } => "duplicate_option",
            AnswerError::MatchingLength { .. } => "matching_length",
        }
    }
}

fn kind_name(kind: &QuestionKind) -> &'static str {
    match kind {
        QuestionKind::Single { .. } => "một lựa chọn",
        QuestionKind::Multiple { .. } => "nhiều lựa chọn",
        QuestionKind::TrueFalse { .. } => "đúng/sai",
        QuestionKind::Matching { .. } => "ghép đôi",
    }
}

fn answer_name(answer: &Answer) -> &'static str {
    match answer {
        Answer::Single(_) => "một lựa chọn",
        Answer::Multiple(_) => "nhiều lựa chọn",
        Answer::TrueFalse(_) => "đúng/sai",
        Answer::Matching(_) => "ghép đôi",
    }
}

/// Checks that `indexes` are distinct and below `count`.
fn check_indexes(indexes: &[usize], count: usize) -> Result<(), AnswerError> {
    let mut seen = vec![false; count];
    for &index in indexes {
        if index >= count {
            return Err(AnswerError::OptionOutOfRange { index, count });
        }
        if std::mem::replace(&mut seen[index], true) {
            return Err(AnswerError::DuplicateOption { index });
        }
    }
    Ok(())
}

impl Question {
    /// Points earned by `answer`: all or nothing for single, true/false and multiple choice
    /// (the exact set of correct options); for matching, `points × correct pairs / pairs`.
    ///
    /// A matching answer gives, for each left item in authored order, the authored index of the
    /// right item chosen; each right item may be chosen once.
    pub fn grade(&self, answer: &Answer) -> Result<f64, AnswerError> {
        let mismatch = || AnswerError::KindMismatch { expected: kind_name(&self.kind), got: answer_name(answer) };
        match (&self.kind, answer) {
            (QuestionKind::Single { options, correct }, Answer::Single(chosen)) => {
                check_indexes(&[*chosen], options.len())?;
                Ok(if chosen == correct { self.points } else { 0.0 })
            }
            (QuestionKind::Multiple { options, correct }, Answer::Multiple(chosen)) => {
                check_indexes(chosen, options.len())?;
                let mut chosen = chosen.clone();
                chosen.sort_unstable();
                let mut correct = correct.clone();
                correct.sort_unstable();
                correct.dedup();
                Ok(if chosen == correct { self.points } else { 0.0 })
            }
            (QuestionKind::TrueFalse { correct }, Answer::TrueFalse(chosen)) => {
                Ok(if chosen == correct { self.points } else { 0.0 })
            }
            (QuestionKind::Matching { pairs }, Answer::Matching(chosen)) => {
                if chosen.len() != pairs.len() {
                    return Err(AnswerError::MatchingLength { expected: pairs.len(), got: chosen.len() });
                }
                check_indexes(chosen, pairs.len())?;
                let right = chosen.iter().enumerate().filter(|(left, right)| left == *right).count();
                Ok(self.points * right as f64 / pairs.len() as f64)
            }
            _ => Err(mismatch()),
        }
    }
}

impl Quiz {
    /// The question with this key.
    pub fn question(&self, key: &str) -> Option<&Question> {
        self.questions.iter().find(|q| q.key == key)
    }
}

/// The sum of the questions' points.
pub fn quiz_total(quiz: &Quiz) -> f64 {
    quiz.questions.iter().map(|q| q.points).sum()
}

/// Whether `earned` points reach the quiz's pass mark (`earned × 100 ≥ total × pass_percent`).
pub fn passed(quiz: &Quiz, earned: f64) -> bool {
    pass_mark(quiz)(earned)
}

/// The quiz's pass test on its own, for code that outlives the quiz (the store decides inside
/// the submit's transaction whether the attempt marks the quiz done).
pub fn pass_mark(quiz: &Quiz) -> impl Fn(f64) -> bool + Send + Sync + 'static {
    let mark = quiz_total(quiz) * f64::from(quiz.pass_percent);
    move |earned: f64| earned.is_finite() && earned * 100.0 + EPSILON >= mark
}

/// What a learner is shown of a question: no answers, and option indexes in authored order so
/// that answers map back to the question.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PublicQuestion {
    pub key: String,
    pub prompt_html: String,
    pub points: f64,
    pub kind: PublicKind,
}

/// Options are `(authored index, text)` in display order.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum PublicKind {
    Single {
        options: Vec<(usize, String)>,
    },
    Multiple {
        options: Vec<(usize, String)>,
    },
    TrueFalse,
    /// The learner answers, for each left index, the index of a right item.
    Matching {
        lefts: Vec<(usize, String)>,
        rights: Vec<(usize, String)>,
    },
}

/// The learner's view of a quiz for one attempt. With `quiz.shuffle`, question order, options
/// and left items are shuffled; the right items of a matching question are always shuffled so
/// that no right item is shown next to its own left item (their order would give the answer).
/// The same `seed` always gives the same view (store it with the attempt).
pub fn public_questions(quiz: &Quiz, seed: u64) -> Vec<PublicQuestion> {
    let mut rng = SplitMix64::new(seed);
    let mut order: Vec<usize> = (0..quiz.questions.len()).collect();
    if quiz.shuffle {
        rng.shuffle(&mut order);
    }
    order
        .into_iter()
        .map(|i| {
            let question = &quiz.questions[i];
            let numbered = |texts: &[String], rng: &mut SplitMix64| {
                let mut items: Vec<(usize, String)> = texts.iter().cloned().enumerate().collect();
                if quiz.shuffle {
                    rng.shuffle(&mut items);
                }
                items
            };
            let kind = match &question.kind {
                QuestionKind::Single { options, .. } => PublicKind::Single { options: numbered(options, &mut rng) },
                QuestionKind::Multiple { options, .. } => PublicKind::Multiple { options: numbered(options, &mut rng) },
                QuestionKind::TrueFalse { .. } => PublicKind::TrueFalse,
                QuestionKind::Matching { pairs } => {
                    let mut lefts: Vec<usize> = (0..pairs.len()).collect();
                    if quiz.shuffle {
                        rng.shuffle(&mut lefts);
                    }
                    let rights = rng.derangement_of(&lefts);
                    PublicKind::Matching {
                        lefts: lefts.into_iter().map(|i| (i, pairs[i].0.clone())).collect(),
                        rights: rights.into_iter().map(|i| (i, pairs[i].1.clone())).collect(),
                    }
                }
            };
            PublicQuestion {
                key: question.key.clone(),
                prompt_html: question.prompt_html.clone(),
                points: question.points,
                kind,
            }
        })
        .collect()
}

/// The splitmix64 generator: small, fast, and stable across versions (attempts are re-rendered
/// from their stored seed).
struct SplitMix64(u64);

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0), by rejection so that there is no modulo bias.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let x = self.next();
            if x < zone {
                return (x % n) as usize;
            }
        }
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }

    /// A random reordering of `shown` in which no position keeps its element (for two or more
    /// elements); uniform over derangements by rejection, with a rotation as a fallback.
    fn derangement_of(&mut self, shown: &[usize]) -> Vec<usize> {
        let mut out = shown.to_vec();
        if out.len() < 2 {
            return out;
        }
        for _ in 0..64 {
            self.shuffle(&mut out);
            if out.iter().zip(shown).all(|(a, b)| a != b) {
                return out;
            }
        }
        let mut out = shown.to_vec();
        out.rotate_left(1);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(key: &str, points: f64, kind: QuestionKind) -> Question {
        Question { key: key.into(), prompt_html: format!("<p>Câu {key}</p>"), points, kind }
    }

    fn single() -> Question {
        q("c1", 1.0, QuestionKind::Single { options: vec!["A".into(), "B".into(), "C".into()], correct: 1 })
    }

    fn multiple() -> Question {
        q(
            "c2",
            2.0,
            QuestionKind::Multiple {
                options: vec!["A".into(), "B".into(), "C".into(), "D".into()],
                correct: vec![3, 0],
            },
        )
    }

    fn true_false() -> Question {
        q("c3", 0.5, QuestionKind::TrueFalse { correct: false })
    }

    fn matching(n: usize) -> Question {
        let pairs = (0..n).map(|i| (format!("Trái {i}"), format!("Phải {i}"))).collect();
        q("c4", 3.0, QuestionKind::Matching { pairs })
    }

    fn quiz(shuffle: bool) -> Quiz {
        Quiz {
            pass_percent: 70,
            max_attempts: 3,
            shuffle,
            questions: vec![single(), multiple(), true_false(), matching(4)],
        }
    }

    #[test]
    fn single_all_or_nothing() {
        assert_eq!(single().grade(&Answer::Single(1)), Ok(1.0));
        assert_eq!(single().grade(&Answer::Single(0)), Ok(0.0));
        assert_eq!(single().grade(&Answer::Single(2)), Ok(0.0));
    }

    #[test]
    fn single_out_of_range() {
        let err = single().grade(&Answer::Single(3)).unwrap_err();
        assert_eq!(err, AnswerError::OptionOutOfRange { index: 3, count: 3 });
        assert_eq!(err.code(), "option_out_of_range");
        assert_eq!(err.to_string(), "Lựa chọn số 4 không có trong câu hỏi (câu hỏi có 3 lựa chọn)");
    }

    #[test]
    fn multiple_exact_set_in_any_order() {
        assert_eq!(multiple().grade(&Answer::Multiple(vec![0, 3])), Ok(2.0));
        assert_eq!(multiple().grade(&Answer::Multiple(vec![3, 0])), Ok(2.0));
        assert_eq!(multiple().grade(&Answer::Multiple(vec![0])), Ok(0.0));
        assert_eq!(multiple().grade(&Answer::Multiple(vec![0, 1, 3])), Ok(0.0));
        assert_eq!(multiple().grade(&Answer::Multiple(vec![])), Ok(0.0));
    }

    #[test]
    fn multiple_shape_errors() {
        let err = multiple().grade(&Answer::Multiple(vec![0, 0, 3])).unwrap_err();
        assert_eq!(err, AnswerError::DuplicateOption { index: 0 });
        assert_eq!(err.code(), "duplicate_option");
        assert_eq!(err.to_string(), "Lựa chọn số 1 được chọn hai lần");
        let err = multiple().grade(&Answer::Multiple(vec![4])).unwrap_err();
        assert_eq!(err.code(), "option_out_of_range");
    }

    #[test]
    fn true_false_all_or_nothing() {
        assert_eq!(true_false().grade(&Answer::TrueFalse(false)), Ok(0.5));
        assert_eq!(true_false().grade(&Answer::TrueFalse(true)), Ok(0.0));
    }

    #[test]
    fn matching_is_proportional() {
        let m = matching(4);
        assert_eq!(m.grade(&Answer::Matching(vec![0, 1, 2, 3])), Ok(3.0));
        assert_eq!(m.grade(&Answer::Matching(vec![1, 0, 2, 3])), Ok(1.5));
        assert_eq!(m.grade(&Answer::Matching(vec![1, 2, 3, 0])), Ok(0.0));
        let m3 = matching(3);
        let earned = m3.grade(&Answer::Matching(vec![0, 2, 1])).unwrap();
        assert!((earned - 1.0).abs() < 1e-12);
    }

    #[test]
    fn matching_shape_errors() {
        let m = matching(4);
        let err = m.grade(&Answer::Matching(vec![0, 1, 2])).unwrap_err();
        assert_eq!(err, AnswerError::MatchingLength { expected: 4, got: 3 });
        assert_eq!(err.code(), "matching_length");
        assert_eq!(err.to_string(), "Câu ghép đôi có 4 vế, câu trả lời ghép 3 vế");
        assert_eq!(m.grade(&Answer::Matching(vec![0, 1, 2, 2])).unwrap_err().code(), "duplicate_option");
        assert_eq!(m.grade(&Answer::Matching(vec![0, 1, 2, 4])).unwrap_err().code(), "option_out_of_range");
    }

    #[test]
    fn kind_mismatch() {
        let cases = [
            (single(), Answer::Multiple(vec![1])),
            (multiple(), Answer::Single(0)),
            (true_false(), Answer::Single(0)),
            (matching(2), Answer::TrueFalse(true)),
        ];
        for (question, answer) in cases {
            let err = question.grade(&answer).unwrap_err();
            assert_eq!(err.code(), "answer_kind_mismatch", "{question:?}");
        }
        let err = single().grade(&Answer::TrueFalse(true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Câu trả lời không đúng dạng câu hỏi: câu hỏi là một lựa chọn, câu trả lời là đúng/sai"
        );
    }

    #[test]
    fn totals_and_pass_mark() {
        let quiz = quiz(false);
        assert_eq!(quiz_total(&quiz), 6.5);
        // 70 % of 6.5 = 4.55
        assert!(passed(&quiz, 4.55));
        assert!(passed(&quiz, 6.5));
        assert!(!passed(&quiz, 4.5));
        assert!(!passed(&quiz, f64::NAN));
        // Sums of thirds that land a hair below the mark still pass.
        let thirds = Quiz { pass_percent: 100, max_attempts: 0, shuffle: false, questions: vec![matching(3)] };
        let earned = (0..3).map(|_| 3.0 / 3.0 * (1.0 / 3.0) * 3.0).sum::<f64>();
        assert!(passed(&thirds, earned - 1e-12));
        let zero = Quiz { pass_percent: 0, max_attempts: 0, shuffle: false, questions: vec![] };
        assert!(passed(&zero, 0.0));
        assert_eq!(quiz.question("c3").map(|q| q.points), Some(0.5));
        assert!(quiz.question("x").is_none());
    }

    #[test]
    fn public_view_keeps_authored_order_without_shuffle() {
        let view = public_questions(&quiz(false), 42);
        let keys: Vec<&str> = view.iter().map(|q| q.key.as_str()).collect();
        assert_eq!(keys, ["c1", "c2", "c3", "c4"]);
        assert_eq!(
            view[0].kind,
            PublicKind::Single { options: vec![(0, "A".into()), (1, "B".into()), (2, "C".into())] }
        );
        assert_eq!(view[2].kind, PublicKind::TrueFalse);
        let PublicKind::Matching { lefts, rights } = &view[3].kind else { panic!() };
        assert_eq!(lefts.iter().map(|l| l.0).collect::<Vec<_>>(), [0, 1, 2, 3]);
        for (left, right) in lefts.iter().zip(rights) {
            assert_ne!(left.0, right.0, "the right item next to its left item gives the answer");
        }
    }

    #[test]
    fn public_view_never_carries_answers() {
        for shuffle in [false, true] {
            for seed in 0..50 {
                let view = public_questions(&quiz(shuffle), seed);
                let json = serde_json::to_string(&view).unwrap();
                assert!(!json.contains("correct"), "{json}");
                if !shuffle {
                    // With the lefts in authored order, the rights in authored order would be the answer.
                    assert!(
                        !json.contains(r#""rights":[[0,"Phải 0"],[1,"Phải 1"],[2,"Phải 2"],[3,"Phải 3"]]"#),
                        "{json}"
                    );
                }
                let PublicKind::Matching { lefts, rights } = &view.iter().find(|q| q.key == "c4").unwrap().kind else {
                    panic!()
                };
                assert!(lefts.iter().zip(rights).all(|(l, r)| l.0 != r.0), "{json}");
            }
        }
    }

    #[test]
    fn two_pair_matching_is_always_swapped() {
        let quiz = Quiz { pass_percent: 50, max_attempts: 0, shuffle: false, questions: vec![matching(2)] };
        for seed in 0..20 {
            let view = public_questions(&quiz, seed);
            let PublicKind::Matching { rights, .. } = &view[0].kind else { panic!() };
            assert_eq!(rights.iter().map(|r| r.0).collect::<Vec<_>>(), [1, 0]);
        }
    }

    #[test]
    fn shuffle_is_deterministic_and_varies_with_seed() {
        let quiz = quiz(true);
        assert_eq!(public_questions(&quiz, 7), public_questions(&quiz, 7));
        let views: std::collections::HashSet<String> =
            (0..30).map(|seed| serde_json::to_string(&public_questions(&quiz, seed)).unwrap()).collect();
        assert!(views.len() > 20, "{}", views.len());
        let orders: std::collections::HashSet<Vec<String>> =
            (0..30).map(|seed| public_questions(&quiz, seed).into_iter().map(|q| q.key).collect()).collect();
        assert!(orders.len() > 5);
    }

    #[test]
    fn shuffled_view_maps_back_to_authored_indexes() {
        let quiz = quiz(true);
        for seed in 0..30 {
            let view = public_questions(&quiz, seed);
            assert_eq!(view.len(), 4);
            for public in &view {
                let question = quiz.question(&public.key).unwrap();
                match (&public.kind, &question.kind) {
                    (PublicKind::Single { options: shown }, QuestionKind::Single { options, .. })
                    | (PublicKind::Multiple { options: shown }, QuestionKind::Multiple { options, .. }) => {
                        let mut seen: Vec<usize> = shown.iter().map(|o| o.0).collect();
                        for (i, text) in shown {
                            assert_eq!(&options[*i], text);
                        }
                        seen.sort();
                        assert_eq!(seen, (0..options.len()).collect::<Vec<_>>());
                    }
                    (PublicKind::TrueFalse, QuestionKind::TrueFalse { .. }) => {}
                    (PublicKind::Matching { lefts, rights }, QuestionKind::Matching { pairs }) => {
                        for ((l, lt), (r, rt)) in lefts.iter().zip(rights) {
                            assert_eq!(&pairs[*l].0, lt);
                            assert_eq!(&pairs[*r].1, rt);
                            assert_ne!(l, r);
                        }
                        // Answering each left with its own index earns everything.
                        let answer = Answer::Matching((0..pairs.len()).collect());
                        assert_eq!(question.grade(&answer), Ok(question.points));
                    }
                    other => panic!("{other:?}"),
                }
            }
        }
    }

    #[test]
    fn single_pair_and_empty_quiz() {
        let quiz = Quiz { pass_percent: 50, max_attempts: 0, shuffle: true, questions: vec![matching(1)] };
        let view = public_questions(&quiz, 1);
        assert_eq!(
            view[0].kind,
            PublicKind::Matching { lefts: vec![(0, "Trái 0".into())], rights: vec![(0, "Phải 0".into())] }
        );
        let empty = Quiz { pass_percent: 50, max_attempts: 0, shuffle: true, questions: vec![] };
        assert!(public_questions(&empty, 1).is_empty());
    }

    #[test]
    fn prng_is_stable() {
        // Reference values of splitmix64 seeded with 1234567.
        let mut rng = SplitMix64::new(1234567);
        assert_eq!(rng.next(), 6457827717110365317);
        assert_eq!(rng.next(), 3203168211198807973);
        let mut rng = SplitMix64::new(0);
        for n in 1..50 {
            assert!(rng.below(n) < n);
        }
        let mut rng = SplitMix64::new(9);
        assert_eq!(rng.derangement_of(&[5]), [5]);
        let d = rng.derangement_of(&[2, 0, 1]);
        assert!(d.iter().zip([2, 0, 1]).all(|(a, b)| *a != b));
    }
}
