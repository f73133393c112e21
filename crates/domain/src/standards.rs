//! Professional standards assessed every year (TEMIS): the general-school teacher standard of
//! Circular 20/2018 (5 standards, 15 criteria) and the principal standard of Circular 14/2018
//! (5 standards, 18 criteria; criterion titles unverified). Each criterion is assessed at Chưa
//! đạt / Đạt / Khá / Tốt: first by the person (with evidence), then colleagues comment, then the
//! principal (for a principal: the office above) evaluates. The overall level follows the rule
//! of the circular: Tốt = every criterion Khá or better, at least 2/3 Tốt, the key criteria Tốt;
//! Khá = every criterion Đạt or better, at least 2/3 Khá or better, the key criteria Khá or
//! better; Đạt = every criterion Đạt or better; otherwise Chưa đạt.
//!
//! Each 2019 programme-03 module GVPT01–15 trains one criterion of the teacher standard (module
//! n ↔ criterion n, as the catalog records); the criteria most often weak suggest next year's
//! modules.

use serde::Serialize;

use crate::error::Invalid;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    ChuaDat = 0,
    Dat = 1,
    Kha = 2,
    Tot = 3,
}

impl Level {
    pub const ALL: [Level; 4] = [Level::ChuaDat, Level::Dat, Level::Kha, Level::Tot];
    pub fn as_str(self) -> &'static str {
        match self {
            Level::ChuaDat => "chua_dat",
            Level::Dat => "dat",
            Level::Kha => "kha",
            Level::Tot => "tot",
        }
    }
    pub fn parse(s: &str) -> Option<Level> {
        Level::ALL.into_iter().find(|l| l.as_str() == s)
    }
    pub fn label_vi(self) -> &'static str {
        match self {
            Level::ChuaDat => "Chưa đạt",
            Level::Dat => "Đạt",
            Level::Kha => "Khá",
            Level::Tot => "Tốt",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Criterion {
    /// 1-based, numbered through the whole standard.
    pub number: u8,
    /// The standard (1–5) it belongs to.
    pub standard: u8,
    pub title_vi: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Standard {
    pub key: &'static str,
    pub title_vi: &'static str,
    pub source: &'static str,
    /// Titles of standards 1–5.
    pub standards: &'static [&'static str],
    pub criteria: &'static [Criterion],
    /// The criteria that must be at the overall level itself for Khá and Tốt.
    pub key_criteria: &'static [u8],
    /// False where titles or the rule come from memory, not from a text read in full.
    pub verified: bool,
}

const fn c(number: u8, standard: u8, title_vi: &'static str) -> Criterion {
    Criterion { number, standard, title_vi }
}

/// Circular 20/2018/TT-BGDĐT: chuẩn nghề nghiệp giáo viên cơ sở giáo dục phổ thông.
pub const TEACHER_2018: Standard = Standard {
    key: "teacher_2018",
    title_vi: "Chuẩn nghề nghiệp giáo viên cơ sở giáo dục phổ thông (Thông tư 20/2018/TT-BGDĐT)",
    source: "Thông tư 20/2018/TT-BGDĐT",
    standards: &[
        "Phẩm chất nhà giáo",
        "Phát triển chuyên môn, nghiệp vụ",
        "Xây dựng môi trường giáo dục",
        "Phát triển mối quan hệ giữa nhà trường, gia đình và xã hội",
        "Sử dụng ngoại ngữ hoặc tiếng dân tộc, ứng dụng công nghệ thông tin, khai thác và sử dụng thiết bị công nghệ trong dạy học, giáo dục",
    ],
    criteria: &[
        c(1, 1, "Đạo đức nhà giáo"),
        c(2, 1, "Phong cách nhà giáo"),
        c(3, 2, "Phát triển chuyên môn bản thân"),
        c(4, 2, "Xây dựng kế hoạch dạy học và giáo dục theo hướng phát triển phẩm chất, năng lực học sinh"),
        c(5, 2, "Sử dụng phương pháp dạy học và giáo dục theo hướng phát triển phẩm chất, năng lực học sinh"),
        c(6, 2, "Kiểm tra, đánh giá theo hướng phát triển phẩm chất, năng lực học sinh"),
        c(7, 2, "Tư vấn và hỗ trợ học sinh"),
        c(8, 3, "Xây dựng văn hóa nhà trường"),
        c(9, 3, "Thực hiện quyền dân chủ trong nhà trường"),
        c(10, 3, "Thực hiện và xây dựng trường học an toàn, phòng chống bạo lực học đường"),
        c(11, 4, "Tạo dựng mối quan hệ hợp tác với cha mẹ hoặc người giám hộ của học sinh và các bên liên quan"),
        c(12, 4, "Phối hợp giữa nhà trường, gia đình và xã hội để thực hiện hoạt động dạy học cho học sinh"),
        c(13, 4, "Phối hợp giữa nhà trường, gia đình và xã hội để thực hiện giáo dục đạo đức, lối sống cho học sinh"),
        c(14, 5, "Sử dụng ngoại ngữ hoặc tiếng dân tộc"),
        c(15, 5, "Ứng dụng công nghệ thông tin, khai thác và sử dụng thiết bị công nghệ trong dạy học, giáo dục"),
    ],
    key_criteria: &[1, 2],
    verified: true,
};

/// Circular 14/2018/TT-BGDĐT: chuẩn hiệu trưởng cơ sở giáo dục phổ thông (titles and the key
/// criteria from memory: unverified).
pub const PRINCIPAL_2018: Standard = Standard {
    key: "principal_2018",
    title_vi: "Chuẩn hiệu trưởng cơ sở giáo dục phổ thông (Thông tư 14/2018/TT-BGDĐT)",
    source: "Thông tư 14/2018/TT-BGDĐT",
    standards: &[
        "Phẩm chất nghề nghiệp",
        "Quản trị nhà trường",
        "Xây dựng môi trường giáo dục",
        "Phát triển mối quan hệ giữa nhà trường, gia đình, xã hội",
        "Sử dụng ngoại ngữ và công nghệ thông tin",
    ],
    criteria: &[
        c(1, 1, "Đạo đức nghề nghiệp"),
        c(2, 1, "Tư tưởng đổi mới trong lãnh đạo, quản trị nhà trường"),
        c(3, 1, "Năng lực phát triển chuyên môn, nghiệp vụ bản thân"),
        c(4, 2, "Tổ chức xây dựng kế hoạch phát triển nhà trường"),
        c(5, 2, "Quản trị hoạt động dạy học, giáo dục học sinh"),
        c(6, 2, "Quản trị nhân sự nhà trường"),
        c(7, 2, "Quản trị tổ chức, hành chính nhà trường"),
        c(8, 2, "Quản trị tài chính nhà trường"),
        c(9, 2, "Quản trị cơ sở vật chất, thiết bị và công nghệ trong dạy học, giáo dục học sinh của nhà trường"),
        c(10, 2, "Quản trị chất lượng giáo dục trong nhà trường"),
        c(11, 3, "Xây dựng văn hóa nhà trường"),
        c(12, 3, "Thực hiện dân chủ cơ sở trong nhà trường"),
        c(13, 3, "Xây dựng trường học an toàn, phòng chống bạo lực học đường"),
        c(14, 4, "Phối hợp giữa nhà trường, gia đình và xã hội trong thực hiện hoạt động dạy học cho học sinh"),
        c(
            15,
            4,
            "Phối hợp giữa nhà trường, gia đình và xã hội trong thực hiện giáo dục đạo đức, lối sống cho học sinh",
        ),
        c(
            16,
            4,
            "Phối hợp giữa nhà trường, gia đình và xã hội trong huy động và sử dụng nguồn lực để phát triển nhà trường",
        ),
        c(17, 5, "Sử dụng ngoại ngữ"),
        c(18, 5, "Ứng dụng công nghệ thông tin"),
    ],
    key_criteria: &[1, 2, 3],
    verified: false,
};

pub const ALL: [&Standard; 2] = [&TEACHER_2018, &PRINCIPAL_2018];

pub fn by_key(key: &str) -> Option<&'static Standard> {
    ALL.into_iter().find(|s| s.key == key)
}

impl Standard {
    pub fn len(&self) -> usize {
        self.criteria.len()
    }
    pub fn is_empty(&self) -> bool {
        self.criteria.is_empty()
    }

    /// The overall level from one level per criterion (in order). Every criterion must be
    /// assessed.
    pub fn overall(&self, levels: &[Option<Level>]) -> Result<Level, Invalid> {
        if levels.len() != self.len() {
            return Err(Invalid::one("standard_levels", "standard_levels_count"));
        }
        let mut c = crate::error::Checker::default();
        for (k, l) in self.criteria.iter().zip(levels) {
            if l.is_none() {
                c.add(&format!("Tiêu chí {}. {}", k.number, k.title_vi), "required");
            }
        }
        c.finish()?;
        let levels: Vec<Level> = levels.iter().flatten().copied().collect();
        Ok(self.overall_of(&levels))
    }

    fn overall_of(&self, levels: &[Level]) -> Level {
        let n = levels.len();
        let at_least = |l: Level| levels.iter().filter(|x| **x >= l).count();
        // "at least 2/3 of the criteria": count × 3 ≥ 2 × n (10 of 15; 12 of 18).
        let two_thirds = |count: usize| count * 3 >= 2 * n;
        let key_at = |l: Level| self.key_criteria.iter().all(|k| levels.get(*k as usize - 1).is_some_and(|x| *x >= l));
        if at_least(Level::Kha) == n && two_thirds(at_least(Level::Tot)) && key_at(Level::Tot) {
            Level::Tot
        } else if at_least(Level::Dat) == n && two_thirds(at_least(Level::Kha)) && key_at(Level::Kha) {
            Level::Kha
        } else if at_least(Level::Dat) == n {
            Level::Dat
        } else {
            Level::ChuaDat
        }
    }
}

/// The 2019 programme-03 module that trains a teacher-standard criterion: criterion n → GVPTnn.
pub fn module_for_criterion(number: u8) -> Option<String> {
    (1..=15).contains(&number).then(|| format!("GVPT{number:02}"))
}

/// The teacher-standard criterion a GVPT module trains.
pub fn criterion_of_module(code: &str) -> Option<u8> {
    let n: u8 = code.strip_prefix("GVPT")?.parse().ok()?;
    (1..=15).contains(&n).then_some(n)
}

/// How many people were assessed at each level for one criterion: [Chưa đạt, Đạt, Khá, Tốt].
pub type LevelCounts = [i64; 4];

/// The criteria most often weak (Chưa đạt or only Đạt), weakest first: by the number weak, then
/// by the number Chưa đạt, then by number. Criteria nobody is weak on are left out.
pub fn weakest(counts: &[LevelCounts], take: usize) -> Vec<(u8, i64)> {
    let mut v: Vec<(u8, i64, i64)> =
        counts.iter().enumerate().map(|(i, c)| (i as u8 + 1, c[0] + c[1], c[0])).filter(|x| x.1 > 0).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    v.into_iter().take(take).map(|(n, weak, _)| (n, weak)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use Level::*;

    fn levels(spec: &[(Level, usize)]) -> Vec<Option<Level>> {
        spec.iter().flat_map(|(l, n)| std::iter::repeat_n(Some(*l), *n)).collect()
    }

    #[test]
    fn standards_have_their_criteria() {
        assert_eq!(TEACHER_2018.len(), 15);
        assert_eq!(PRINCIPAL_2018.len(), 18);
        for s in ALL {
            assert_eq!(s.standards.len(), 5);
            for (i, k) in s.criteria.iter().enumerate() {
                assert_eq!(k.number as usize, i + 1);
                assert!((1..=5).contains(&k.standard));
            }
        }
        assert_eq!(by_key("teacher_2018").unwrap().key, "teacher_2018");
    }

    #[test]
    fn overall_teacher_boundaries() {
        let s = &TEACHER_2018;
        // Tốt: 10 of 15 Tốt (exactly 2/3), the rest Khá, criteria 1 and 2 Tốt.
        assert_eq!(s.overall(&levels(&[(Tot, 10), (Kha, 5)])).unwrap(), Tot);
        // 9 Tốt is less than 2/3: Khá.
        assert_eq!(s.overall(&levels(&[(Tot, 9), (Kha, 6)])).unwrap(), Kha);
        // 2/3 Tốt but criterion 1 only Khá: Khá.
        let mut v = levels(&[(Kha, 1), (Tot, 10), (Kha, 4)]);
        assert_eq!(s.overall(&v).unwrap(), Kha);
        // 2/3 Tốt, key criteria Tốt, but one criterion only Đạt: not Tốt.
        v = levels(&[(Tot, 11), (Kha, 3), (Dat, 1)]);
        assert_eq!(s.overall(&v).unwrap(), Kha);
        // Khá: 10 Khá or better, the rest Đạt, standard 1 at Khá.
        assert_eq!(s.overall(&levels(&[(Kha, 10), (Dat, 5)])).unwrap(), Kha);
        assert_eq!(s.overall(&levels(&[(Kha, 9), (Dat, 6)])).unwrap(), Dat);
        // Criterion 2 only Đạt: Đạt, however many Tốt.
        v = levels(&[(Tot, 1), (Dat, 1), (Tot, 13)]);
        assert_eq!(s.overall(&v).unwrap(), Dat);
        // One criterion Chưa đạt: Chưa đạt.
        assert_eq!(s.overall(&levels(&[(Tot, 14), (ChuaDat, 1)])).unwrap(), ChuaDat);
        assert_eq!(s.overall(&levels(&[(Dat, 15)])).unwrap(), Dat);
    }

    #[test]
    fn overall_needs_every_criterion() {
        let mut v = levels(&[(Tot, 15)]);
        v[6] = None;
        let e = TEACHER_2018.overall(&v).unwrap_err();
        assert_eq!(e.errors[0].field, "Tiêu chí 7. Tư vấn và hỗ trợ học sinh");
        assert_eq!(TEACHER_2018.overall(&levels(&[(Tot, 3)])).unwrap_err().errors[0].code, "standard_levels_count");
    }

    #[test]
    fn overall_principal_two_thirds_of_18() {
        let s = &PRINCIPAL_2018;
        assert_eq!(s.overall(&levels(&[(Tot, 12), (Kha, 6)])).unwrap(), Tot);
        assert_eq!(s.overall(&levels(&[(Tot, 11), (Kha, 7)])).unwrap(), Kha);
        let v = levels(&[(Tot, 2), (Kha, 1), (Tot, 15)]);
        assert_eq!(s.overall(&v).unwrap(), Kha, "criterion 3 is key");
    }

    #[test]
    fn modules_map_to_criteria_as_the_catalog_says() {
        assert_eq!(module_for_criterion(5).as_deref(), Some("GVPT05"));
        assert_eq!(module_for_criterion(16), None);
        assert_eq!(criterion_of_module("GVPT15"), Some(15));
        assert_eq!(criterion_of_module("GV4660-01"), None);
        for m in crate::catalog::shipped().iter().filter(|m| m.family == "gvpt_2019") {
            let n = criterion_of_module(&m.code).unwrap();
            let k = &TEACHER_2018.criteria[n as usize - 1];
            assert_eq!(m.criterion.as_deref(), Some(format!("{}.{}", k.standard, k.number).as_str()), "{}", m.code);
        }
    }

    #[test]
    fn weakest_criteria_first() {
        let mut counts = vec![[0, 0, 3, 2]; 15];
        counts[4] = [1, 3, 1, 0];
        counts[7] = [0, 4, 1, 0];
        counts[13] = [2, 0, 3, 0];
        assert_eq!(weakest(&counts, 3), vec![(5, 4), (8, 4), (14, 2)]);
        assert_eq!(weakest(&[[0, 0, 1, 1]], 3), vec![]);
    }
}
