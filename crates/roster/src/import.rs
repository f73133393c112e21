//! Plan an import against what is on record, then apply it unit by unit: a unit's rows are
//! written together or not at all, and a unit with any row in error (or a look-alike awaiting a
//! decision) is held back whole. Re-importing the same file changes nothing.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::path::Path;

use chrono::NaiveDate;

use bdtx_domain::org::UnitKind;
use bdtx_domain::people::PersonFields;
use bdtx_domain::text::fold;
use bdtx_store::roster::{
    Batch, BulkLoad, NewPerson, OnRecord, PeopleIndex, PersonChange, PersonRow, fingerprint, name_birth_key, name_hash,
};
use bdtx_store::units::NewUnit;
use bdtx_store::{Db, StoreError};

use crate::columns::{Field, Mapping, MappingError, map_headers};
use crate::read::{Limits, ReadError, StringRecord, TextEncoding, for_each_record};
use crate::row::{ParsedRow, RowError, parse_row};

#[derive(Debug, Clone)]
pub struct Options {
    pub create_units: bool,
    pub accept_similar: bool,
    pub dry_run: bool,
    pub actor: Option<i64>,
    /// Only units inside this subtree may be named (the uploader's scope); `None` = all.
    pub within: Option<i64>,
    pub overrides: Vec<(String, Field)>,
    pub limits: Limits,
    /// Day the rows take effect (new staff start, moves happen).
    pub from: NaiveDate,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("{0}")]
    Read(#[from] ReadError),
    #[error("{0}")]
    Mapping(#[from] MappingError),
    #[error("{0}")]
    Store(#[from] StoreError),
    /// Writing stopped partway through a batched import: what was written before stays, a
    /// school's rows all or none (re-running the same file writes the rest and leaves the rest
    /// unchanged).
    #[error(
        "{source}. Đã ghi trước khi dừng: {units_created} đơn vị mới, thêm {added} người, cập nhật {updated} người \
         (mỗi trường trọn vẹn); các trường còn lại chưa được ghi: nhập lại cùng tệp để ghi tiếp"
    )]
    Interrupted { source: StoreError, units_created: usize, added: usize, updated: usize },
    /// The error .xlsx could not be written: named, so the file read is not blamed.
    #[error("không ghi được tệp danh sách lỗi {}: {msg}", path.display())]
    ErrorsFile { path: std::path::PathBuf, msg: String },
}

/// What a batched import has committed so far.
#[derive(Debug, Default, Clone, Copy)]
struct Committed {
    units_created: usize,
    added: usize,
    updated: usize,
}

impl Committed {
    fn interrupted(self, e: ImportError) -> ImportError {
        match e {
            ImportError::Store(source) if self.units_created + self.added + self.updated > 0 => {
                ImportError::Interrupted {
                    source,
                    units_created: self.units_created,
                    added: self.added,
                    updated: self.updated,
                }
            }
            e => e,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Similar {
    pub row_no: usize,
    pub full_name: String,
    pub existing: Vec<i64>,
}

/// A row that changes someone on record: who, and which columns change.
#[derive(Debug, Clone)]
pub struct Update {
    pub row_no: usize,
    pub person_id: i64,
    pub full_name: String,
    pub changed: Vec<Field>,
}

/// How many updates a report lists one by one (all are counted).
pub const UPDATES_LISTED: usize = 500;

/// How many row notes a report lists one by one (all are counted in `warnings`).
pub const NOTES_LISTED: usize = 1000;

impl Report {
    /// Count a good row's warnings and list them while there is room.
    fn note(&mut self, row_no: usize, warnings: &[(Field, &'static str)]) {
        self.warnings += warnings.len();
        for (field, code) in warnings {
            if self.notes.len() < NOTES_LISTED {
                self.notes.push(RowError { row_no, field: Some(*field), code, value: String::new() });
            }
        }
    }
}

/// The columns whose values differ between someone's record and what a row writes.
fn changed_fields(old: &PersonFields, new: &PersonFields, moved: bool) -> Vec<Field> {
    let mut changed = Vec::new();
    let mut check = |differs: bool, f: Field| {
        if differs {
            changed.push(f)
        }
    };
    check(old.full_name != new.full_name, Field::FullName);
    check(old.birth_date != new.birth_date, Field::BirthDate);
    check(old.gender != new.gender, Field::Gender);
    check(old.national_id != new.national_id, Field::NationalId);
    check(old.phone != new.phone, Field::Phone);
    check(old.email != new.email, Field::Email);
    check(moved, Field::School);
    check(old.levels != new.levels, Field::Levels);
    check(old.main_subject != new.main_subject, Field::MainSubject);
    check(old.other_subjects != new.other_subjects, Field::OtherSubjects);
    check(old.position != new.position, Field::Position);
    changed
}

#[derive(Debug, Default)]
pub struct Report {
    pub headers: Vec<String>,
    pub unknown_columns: Vec<String>,
    pub encoding: Option<TextEncoding>,
    pub rows: usize,
    pub added: usize,
    pub updated: usize,
    pub unchanged: usize,
    pub units_created: usize,
    pub warnings: usize,
    /// What was repaired or is worth a look, row by row (an old 9-digit ID, a renumbered
    /// phone, text converted from a legacy encoding…): the first [`NOTES_LISTED`].
    pub notes: Vec<RowError>,
    pub similar: Vec<Similar>,
    pub errors: Vec<RowError>,
    /// Units not written because some of their rows need fixing: (unit name, rows held back).
    pub held_back: Vec<(String, usize)>,
    /// The good rows of those units with something to write (row numbers, in order): the error
    /// file lists them too, so that the fixed file brings each unit whole.
    pub waiting: Vec<usize>,
    /// The first [`UPDATES_LISTED`] rows that change someone (a preview shows whom and what).
    pub updates: Vec<Update>,
}

impl Report {
    pub fn rejected(&self) -> usize {
        self.errors.iter().map(|e| e.row_no).collect::<HashSet<_>>().len() + self.similar.len()
    }
}

/// Progress: (stage, done, total); stages "index" (loading the people on record, no count),
/// "read" (total 0 until the file's end) and "write".
pub type Progress<'a> = &'a mut (dyn FnMut(&'static str, usize, usize) + Send);

/// Unit names as people write them: without "Sở GDĐT", "Tỉnh", "Xã", "Phường", "Trường".
fn unit_key(name: &str) -> String {
    let f = fold(name);
    let mut s = f.as_str();
    for prefix in [
        "so giao duc va dao tao ",
        "so gddt ",
        "tinh ",
        "thanh pho ",
        "tp. ",
        "tp ",
        "phong giao duc va dao tao ",
        "xa ",
        "phuong ",
        "dac khu ",
        "huyen ",
        "quan ",
        "thi xa ",
    ] {
        if let Some(rest) = s.strip_prefix(prefix) {
            s = rest;
        }
    }
    s.trim().to_string()
}

fn slug(s: &str) -> String {
    let f = fold(s).to_uppercase();
    let mut out = String::new();
    for c in f.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').chars().take(24).collect()
}

/// The unit columns of a row.
#[derive(Debug, Clone, Default)]
pub struct UnitRef {
    pub province: String,
    pub commune: String,
    pub school: String,
    pub school_code: String,
    pub levels: Vec<bdtx_domain::org::Level>,
}

impl UnitRef {
    fn of(r: &ParsedRow) -> UnitRef {
        UnitRef {
            province: r.province.clone(),
            commune: r.commune.clone(),
            school: r.school.clone(),
            school_code: r.school_code.clone(),
            levels: r.fields.levels.clone(),
        }
    }
    /// From the raw cells of a row that failed its checks (to hold its unit back).
    /// Cleaned as `parse_row` cleans a good row's unit columns.
    fn raw(m: &Mapping, cells: &StringRecord) -> UnitRef {
        let cell = |f: Field| m.get(f).and_then(|i| cells.get(i)).unwrap_or("");
        let text = |f: Field| bdtx_domain::text::clean(&bdtx_domain::clean::repair_legacy(cell(f)).0);
        UnitRef {
            province: text(Field::Province),
            commune: text(Field::Commune),
            school: text(Field::School),
            school_code: cell(Field::SchoolCode).trim().to_string(),
            levels: vec![],
        }
    }
}

/// Where a row's school is: an existing unit, or one this import creates (index into `plan`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Place {
    Existing(i64),
    New(usize),
}

struct UnitIndex {
    by_code: HashMap<String, (i64, String)>,
    code_of: HashMap<i64, String>,
    provinces: HashMap<String, i64>,
    communes: HashMap<(i64, String), i64>,
    /// (province, commune or 0, school key) → schools
    schools: HashMap<(i64, i64, String), Vec<i64>>,
    names: HashMap<i64, String>,
    allowed: Option<HashSet<i64>>,
    ministry: Option<i64>,
}

impl UnitIndex {
    async fn load(db: &Db, within: Option<i64>) -> Result<UnitIndex, StoreError> {
        let units = db.current_units().await?;
        let parent: HashMap<i64, Option<i64>> = units.iter().map(|u| (u.id, u.parent_id)).collect();
        let kind: HashMap<i64, &str> = units.iter().map(|u| (u.id, u.kind.as_str())).collect();
        let ancestor_of = |mut id: i64, k: &str| -> Option<i64> {
            for _ in 0..10 {
                let p = (*parent.get(&id)?)?;
                if kind.get(&p) == Some(&k) {
                    return Some(p);
                }
                id = p;
            }
            None
        };
        let mut idx = UnitIndex {
            by_code: HashMap::new(),
            code_of: HashMap::new(),
            provinces: HashMap::new(),
            communes: HashMap::new(),
            schools: HashMap::new(),
            names: HashMap::new(),
            allowed: None,
            ministry: None,
        };
        for u in &units {
            idx.by_code.insert(u.code.to_uppercase(), (u.id, u.kind.clone()));
            idx.code_of.insert(u.id, u.code.to_uppercase());
            idx.names.insert(u.id, u.name.clone());
            match u.kind.as_str() {
                "ministry" => idx.ministry = Some(u.id),
                "province" => {
                    idx.provinces.insert(unit_key(&u.name), u.id);
                }
                "commune" => {
                    if let Some(p) = u.parent_id {
                        idx.communes.insert((p, unit_key(&u.name)), u.id);
                    }
                }
                "school" => {
                    let prov = ancestor_of(u.id, "province").unwrap_or(0);
                    let commune = ancestor_of(u.id, "commune").unwrap_or(0);
                    let key = fold(&u.name);
                    idx.schools.entry((prov, commune, key.clone())).or_default().push(u.id);
                    if commune != 0 {
                        idx.schools.entry((prov, 0, key)).or_default().push(u.id);
                    }
                }
                _ => {}
            }
        }
        if let Some(root) = within {
            let mut children: HashMap<i64, Vec<i64>> = HashMap::new();
            for u in &units {
                if let Some(p) = u.parent_id {
                    children.entry(p).or_default().push(u.id);
                }
            }
            let mut allowed = HashSet::new();
            let mut todo = vec![root];
            while let Some(id) = todo.pop() {
                if allowed.insert(id) {
                    todo.extend(children.get(&id).into_iter().flatten());
                }
            }
            idx.allowed = Some(allowed);
        }
        Ok(idx)
    }

    fn allowed(&self, id: i64) -> bool {
        self.allowed.as_ref().is_none_or(|a| a.contains(&id))
    }
}

/// Units this import will create, parents first.
#[derive(Default)]
struct UnitPlan {
    units: Vec<(NewUnit, Result<i64, usize>)>,
    keys: HashMap<(u8, String), usize>,
    codes: HashSet<String>,
}

impl UnitPlan {
    fn code(&mut self, idx: &UnitIndex, base: String) -> String {
        let mut code = base.clone();
        let mut n = 1;
        while idx.by_code.contains_key(&code) || self.codes.contains(&code) {
            n += 1;
            code = format!("{base}-{n}");
        }
        self.codes.insert(code.clone());
        code
    }
    fn add(&mut self, key: (u8, String), unit: NewUnit, parent: Result<i64, usize>) -> usize {
        if let Some(i) = self.keys.get(&key) {
            return *i;
        }
        self.units.push((unit, parent));
        self.keys.insert(key, self.units.len() - 1);
        self.units.len() - 1
    }
    /// The planned units that the `needed` ones hang under, with them, parents first (a parent
    /// still to be created is an index into the returned list), and where each planned index
    /// went in that list.
    fn subset(&self, needed: &HashSet<usize>) -> (Vec<(NewUnit, Result<i64, usize>)>, HashMap<usize, usize>) {
        let mut keep = vec![false; self.units.len()];
        for i in (0..self.units.len()).rev() {
            if needed.contains(&i) || keep[i] {
                keep[i] = true;
                if let Err(p) = self.units[i].1 {
                    keep[p] = true;
                }
            }
        }
        let mut remap = HashMap::new();
        let mut list = Vec::new();
        for (i, (u, parent)) in self.units.iter().enumerate() {
            if keep[i] {
                let parent = match parent {
                    Ok(id) => Ok(*id),
                    Err(p) => Err(remap[p]),
                };
                remap.insert(i, list.len());
                list.push((u.clone(), parent));
            }
        }
        (list, remap)
    }
}

fn new_unit(code: String, kind: UnitKind, name: &str, from: NaiveDate) -> NewUnit {
    NewUnit { code, kind, name: name.to_string(), levels: vec![], parent_id: None, valid_from: from, valid_to: None }
}

fn resolve(
    r: &UnitRef,
    idx: &UnitIndex,
    plan: &mut UnitPlan,
    opts: &Options,
    create: bool,
) -> Result<Place, &'static str> {
    if !r.school_code.is_empty() {
        // A code names any unit people work at: a school, or the office of a commune or a Sở
        // (whose staff an export lists with their office's code).
        return match idx.by_code.get(&r.school_code.to_uppercase()) {
            Some((id, kind)) if kind != "ministry" && idx.allowed(*id) => Ok(Place::Existing(*id)),
            Some((_, kind)) if kind != "ministry" => Err("unit_out_of_scope"),
            _ => Err("unit_not_found"),
        };
    }
    let province = if r.province.is_empty() {
        // One province on record (a provincial installation) or the uploader's own: that one.
        match (idx.provinces.len(), opts.within) {
            (1, _) => idx.provinces.values().next().copied(),
            (_, Some(w)) if idx.provinces.values().any(|p| *p == w) => Some(w),
            _ => None,
        }
    } else {
        idx.provinces.get(&unit_key(&r.province)).copied()
    };
    let commune = match (province, r.commune.is_empty()) {
        (Some(p), false) => idx.communes.get(&(p, unit_key(&r.commune))).copied(),
        _ => None,
    };
    if let Some(p) = province {
        let key = fold(&r.school);
        let found = idx.schools.get(&(p, commune.unwrap_or(0), key.clone()));
        match found.map(|v| v.as_slice()) {
            Some([one]) if idx.allowed(*one) => return Ok(Place::Existing(*one)),
            Some([_]) => return Err("unit_out_of_scope"),
            Some([_, _, ..]) => return Err("unit_ambiguous"),
            _ => {}
        }
    }
    if !opts.create_units || r.school.is_empty() || opts.within.is_some() {
        return Err("unit_not_found");
    }
    if !create {
        // A row in error: the school it names may exist only in the plan (created by this
        // import for the file's good rows); it is held back all the same.
        return planned(r, province, commune, plan).map(Place::New).ok_or("unit_not_found");
    }
    // --create-units: create what the row names, reusing what exists.
    let from = NaiveDate::from_ymd_opt(2025, 7, 1).expect("date");
    let ministry = idx.ministry.ok_or("unit_not_found")?;
    let prov_parent: Result<i64, usize> = match province {
        Some(p) => Ok(p),
        None if r.province.is_empty() => return Err("unit_not_found"),
        None => {
            let key = (0, unit_key(&r.province));
            match plan.keys.get(&key) {
                Some(i) => Err(*i),
                None => {
                    let code = plan.code(idx, slug(&unit_key(&r.province)));
                    let name = format!("Sở Giáo dục và Đào tạo {}", bdtx_domain::text::clean(&r.province));
                    Err(plan.add(key, new_unit(code, UnitKind::Province, &name, from), Ok(ministry)))
                }
            }
        }
    };
    let code_of = |p: Result<i64, usize>, plan: &UnitPlan| match p {
        Ok(id) => idx.code_of.get(&id).cloned().unwrap_or_default(),
        Err(i) => plan.units[i].0.code.clone(),
    };
    let school_parent: Result<i64, usize> = match (commune, r.commune.is_empty()) {
        (Some(c), _) => Ok(c),
        (None, true) => prov_parent,
        (None, false) => {
            let key = (1, format!("{prov_parent:?}|{}", unit_key(&r.commune)));
            match plan.keys.get(&key) {
                Some(i) => Err(*i),
                None => {
                    let base = format!(
                        "{}-{}",
                        code_of(prov_parent, plan).chars().take(15).collect::<String>(),
                        slug(&unit_key(&r.commune))
                    );
                    let code = plan.code(idx, base);
                    Err(plan.add(key, new_unit(code, UnitKind::Commune, &r.commune, from), prov_parent))
                }
            }
        }
    };
    let key = (2, format!("{school_parent:?}|{}", fold(&r.school)));
    if let Some(i) = plan.keys.get(&key).copied() {
        let levels = &mut plan.units[i].0.levels;
        for l in &r.levels {
            if !levels.contains(l) {
                levels.push(*l);
                levels.sort();
            }
        }
        return Ok(Place::New(i));
    }
    let base = format!("{}-{}", code_of(school_parent, plan).chars().take(15).collect::<String>(), slug(&r.school));
    let code = plan.code(idx, base);
    let mut u = new_unit(code, UnitKind::School, &r.school, from);
    u.levels = r.levels.clone();
    Ok(Place::New(plan.add(key, u, school_parent)))
}

/// The school this import plans to create for a row's unit columns, if any (the keys `resolve`
/// gives what it plans; nothing is added).
fn planned(r: &UnitRef, province: Option<i64>, commune: Option<i64>, plan: &UnitPlan) -> Option<usize> {
    let prov_parent: Result<i64, usize> = match province {
        Some(p) => Ok(p),
        None if r.province.is_empty() => return None,
        None => Err(*plan.keys.get(&(0, unit_key(&r.province)))?),
    };
    let school_parent: Result<i64, usize> = match (commune, r.commune.is_empty()) {
        (Some(c), _) => Ok(c),
        (None, true) => prov_parent,
        (None, false) => Err(*plan.keys.get(&(1, format!("{prov_parent:?}|{}", unit_key(&r.commune))))?),
    };
    plan.keys.get(&(2, format!("{school_parent:?}|{}", fold(&r.school)))).copied()
}

/// Keep what the file leaves blank: an import never erases data it does not mention.
fn merge_blanks(file: &PersonFields, old: &PersonFields) -> PersonFields {
    let mut f = file.clone();
    f.birth_date = f.birth_date.or(old.birth_date);
    f.gender = f.gender.clone().or(old.gender.clone());
    f.national_id = f.national_id.clone().or(old.national_id.clone());
    f.phone = f.phone.clone().or(old.phone.clone());
    f.email = f.email.clone().or(old.email.clone());
    f.main_subject = f.main_subject.clone().or(old.main_subject.clone());
    if f.levels.is_empty() {
        f.levels = old.levels.clone();
    }
    if f.other_subjects.is_empty() {
        f.other_subjects = old.other_subjects.clone();
    }
    f
}

enum Class {
    Add,
    Change(i64, Option<i64>),
    Unchanged,
}

const CHUNK_ROWS: usize = 20_000;

/// Files from this size on are planned as they are read (see [`import`]); about 12,000 rows.
const LARGE_FILE: u64 = 2 * 1024 * 1024;

/// Where the batched import puts cleaned rows: kept until the whole (small) file is read, or
/// planned at once.
enum Sink<'a> {
    Keep(Vec<ParsedRow>),
    Plan(RowPlanner<'a>),
}

/// Plans good rows one at a time: their unit, duplicates in the file, who they are on record.
struct RowPlanner<'a> {
    idx: &'a UnitIndex,
    opts: &'a Options,
    people: PeopleIndex,
    plan: UnitPlan,
    seen: SeenKeys,
    /// unit → rows: (index into `kept` for a row to add or change, its class).
    by_unit: BTreeMap<Place, Vec<(usize, Class)>>,
    blocked: HashMap<Place, usize>,
    /// The rows with something to write; an unchanged row is only counted.
    kept: Vec<ParsedRow>,
}

impl<'a> RowPlanner<'a> {
    fn new(idx: &'a UnitIndex, opts: &'a Options, people: PeopleIndex) -> RowPlanner<'a> {
        RowPlanner {
            idx,
            opts,
            people,
            plan: UnitPlan::default(),
            seen: SeenKeys::with_capacity(0),
            by_unit: BTreeMap::new(),
            blocked: HashMap::new(),
            kept: Vec::new(),
        }
    }

    fn row(&mut self, mut r: ParsedRow, report: &mut Report) {
        let resolved = resolve(&UnitRef::of(&r), self.idx, &mut self.plan, self.opts, true);
        // The unit columns are not needed once the unit is known: free them (a national file
        // repeats them a million times).
        let school = std::mem::take(&mut r.school);
        r.province = String::new();
        r.commune = String::new();
        r.school_code = String::new();
        r.warnings = Vec::new();
        let place = match resolved {
            Ok(p) => p,
            Err(code) => {
                report.errors.push(RowError { row_no: r.row_no, field: Some(Field::School), code, value: school });
                return;
            }
        };
        let key = r.fields.identity_key();
        if let Some(first) = self.seen.insert(&key, r.row_no) {
            report.errors.push(duplicate_in_file(r.row_no, &r.fields, first));
            *self.blocked.entry(place).or_default() += 1;
            return;
        }
        let unit_id = match place {
            Place::Existing(id) => Some(id),
            Place::New(_) => None,
        };
        let class = match self.people.by_identity.get(&key) {
            Some(on) => {
                if let Some(code) = self.refused(&r, on) {
                    report.errors.push(RowError {
                        row_no: r.row_no,
                        field: Some(Field::NationalId),
                        code,
                        value: r.fields.national_id.clone().unwrap_or_default(),
                    });
                    *self.blocked.entry(place).or_default() += 1;
                    return;
                }
                if unit_id.is_some() && fingerprint(&r.fields, unit_id) == on.fingerprint {
                    Class::Unchanged
                } else {
                    let moved = if unit_id != on.unit { unit_id.or(Some(-1)) } else { None };
                    Class::Change(on.id, moved)
                }
            }
            None => match self.people.by_name_birth.get(&name_birth_key(&r.fields.full_name, r.fields.birth_date)) {
                Some(ids) if !self.opts.accept_similar && r.fields.birth_date.is_some() => {
                    report.similar.push(Similar {
                        row_no: r.row_no,
                        full_name: r.fields.full_name.clone(),
                        existing: ids.clone(),
                    });
                    *self.blocked.entry(place).or_default() += 1;
                    return;
                }
                _ => Class::Add,
            },
        };
        let at = match class {
            Class::Unchanged => usize::MAX,
            _ => {
                self.kept.push(r);
                self.kept.len() - 1
            }
        };
        self.by_unit.entry(place).or_default().push((at, class));
    }
}

impl RowPlanner<'_> {
    /// Why a row that names a person on record may not change them, if it may not: an import
    /// updates the people it lists, it does not re-assign an identity, reach over the
    /// uploader's scope or bring back someone who retired or left.
    fn refused(&self, r: &ParsedRow, on: &OnRecord) -> Option<&'static str> {
        let f = &r.fields;
        if name_hash(&f.full_name) != on.name_hash
            || matches!((f.birth_date, on.birth_date), (Some(a), Some(b)) if a != b)
        {
            // the national ID is someone else's on record (or the row's name or birth date is
            // wrong): a correction of who someone is goes through the level above (Mẫu 3)
            return Some("identity_conflict");
        }
        if !on.active {
            return Some("person_inactive");
        }
        if self.idx.allowed.is_some() && !on.unit.is_some_and(|u| self.idx.allowed(u)) {
            // working elsewhere: a move across units is the level above's (Chuyển công tác)
            return Some("person_out_of_scope");
        }
        None
    }
}

/// Clean and check a chunk of rows on as many threads as there are cores, keeping their order;
/// `then` turns a good row into what the caller keeps (on the same threads). A row that fails
/// keeps its cells (to find its unit and hold it back).
#[allow(clippy::type_complexity)]
fn parse_chunk<T: Send>(
    m: &Mapping,
    rows: Vec<(usize, StringRecord)>,
    today: NaiveDate,
    then: &(impl Fn(ParsedRow) -> T + Sync),
) -> Vec<(Result<T, Vec<RowError>>, StringRecord)> {
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(8);
    let per = rows.len().div_ceil(threads).max(1);
    let parse = |part: &[(usize, StringRecord)]| -> Vec<(Result<T, Vec<RowError>>, StringRecord)> {
        part.iter()
            .map(|(n, cells)| match parse_row(m, *n, cells, today) {
                Ok(r) => (Ok(then(r)), StringRecord::new()),
                Err(e) => (Err(e), cells.clone()),
            })
            .collect()
    };
    if threads == 1 || rows.len() < 2_000 {
        return parse(&rows);
    }
    std::thread::scope(|s| {
        let handles: Vec<_> = rows.chunks(per).map(|part| s.spawn(move || parse(part))).collect();
        handles.into_iter().flat_map(|h| h.join().expect("row cleaning does not panic")).collect()
    })
}

/// Read, plan and (unless `dry_run`) apply a roster file.
pub async fn import(db: &Db, path: &Path, opts: &Options, progress: Progress<'_>) -> Result<Report, ImportError> {
    import_inner(db, path, opts, None, progress).await.map(|(r, _)| r)
}

/// As [`import`], and write the rows rejected, if any, to an .xlsx at `errors` (see
/// [`write_errors_xlsx`]); with the report, how many rows that file lists (0: no file). A first
/// load writes it while the database builds its indexes; a failed import leaves no file.
pub async fn import_with_errors(
    db: &Db,
    path: &Path,
    opts: &Options,
    errors: &Path,
    progress: Progress<'_>,
) -> Result<(Report, usize), ImportError> {
    import_inner(db, path, opts, Some(errors), progress).await
}

async fn import_inner(
    db: &Db,
    path: &Path,
    opts: &Options,
    errors: Option<&Path>,
    progress: Progress<'_>,
) -> Result<(Report, usize), ImportError> {
    // A first load into an empty people table streams into one transaction (see `import_bulk`).
    if !opts.dry_run && db.people_is_empty().await? {
        if let Some(mut load) = db.bulk_load(opts.actor, opts.from).await? {
            return match import_bulk(db, &mut load, path, opts, errors, progress).await {
                Ok((r, listed)) => {
                    if let Err(e) = load.commit().await {
                        discard_errors_file(errors, listed);
                        return Err(e.into());
                    }
                    progress("write", r.added, r.added);
                    Ok((r, listed))
                }
                Err(e) => {
                    load.rollback().await?;
                    Err(e)
                }
            };
        }
    }
    import_batched(db, path, opts, errors, progress).await
}

/// Import a file in batches of whole units (see [`import`]); the error file, if asked for, is
/// written once the file is planned, before anything is.
async fn import_batched(
    db: &Db,
    path: &Path,
    opts: &Options,
    errors: Option<&Path>,
    progress: Progress<'_>,
) -> Result<(Report, usize), ImportError> {
    let mut report = Report::default();
    let mut idx = UnitIndex::load(db, opts.within).await?;
    // A fresh database: the Ministry is the root every created province hangs under. It is
    // created with the first units this import creates; the plan names it 0 until then.
    let ministry_to_create = idx.ministry.is_none() && opts.create_units;
    if ministry_to_create {
        idx.ministry = Some(0);
        // its code is taken, as once it exists (no planned unit gets it)
        idx.by_code.insert(ministry().code, (0, "ministry".into()));
    }
    // A large file is planned as it is read, against an index of everyone on record made
    // first, and only the rows with something to write are kept: a national re-import holds
    // the index, not the file. A small one (a school's list) is read first and looks up only
    // its own people.
    let large = std::fs::metadata(path).map(|m| m.len() >= LARGE_FILE).unwrap_or(false);
    let mut sink = if large {
        progress("index", 0, 0);
        Sink::Plan(RowPlanner::new(&idx, opts, db.people_index().await?))
    } else {
        Sink::Keep(Vec::new())
    };
    let mut mapping: Option<Mapping> = None;
    let mut failed_units: Vec<UnitRef> = Vec::new();
    let today = bdtx_domain::dates::today();
    // Rows are read in order and cleaned in chunks on every core (cleaning is pure).
    let mut pending: Vec<(usize, StringRecord)> = Vec::with_capacity(CHUNK_ROWS);
    let mut parse_pending = |m: &Mapping, pending: &mut Vec<(usize, StringRecord)>, report: &mut Report| {
        for (result, cells) in parse_chunk(m, std::mem::take(pending), today, &|r| r) {
            match result {
                Ok(r) => {
                    report.note(r.row_no, &r.warnings);
                    match &mut sink {
                        Sink::Keep(rows) => rows.push(r),
                        Sink::Plan(planner) => planner.row(r, report),
                    }
                }
                Err(errs) => {
                    report.errors.extend(errs);
                    failed_units.push(UnitRef::raw(m, &cells));
                }
            }
        }
    };
    let encoding = for_each_record::<ImportError>(path, opts.limits, |row_no, cells| {
        let Some(m) = &mapping else {
            let cells: Vec<String> = cells.iter().map(String::from).collect();
            let m = map_headers(&cells, &opts.overrides)?;
            report.unknown_columns = m.unknown.clone();
            report.headers = cells;
            mapping = Some(m);
            return Ok(());
        };
        report.rows += 1;
        pending.push((row_no, cells));
        if pending.len() == CHUNK_ROWS {
            parse_pending(m, &mut pending, &mut report);
            progress("read", report.rows, 0);
        }
        Ok(())
    })?;
    if let Some(m) = &mapping {
        parse_pending(m, &mut pending, &mut report);
    }
    report.encoding = Some(encoding);
    if mapping.is_none() {
        return Err(ReadError::Empty.into());
    }
    if report.rows == 0 {
        return Err(ReadError::NoRows.into());
    }
    progress("read", report.rows, report.rows);

    let planner = match sink {
        Sink::Plan(planner) => planner,
        Sink::Keep(rows) => {
            let keys: Vec<String> = rows.iter().map(|r| r.fields.identity_key()).collect();
            let mut names: Vec<String> = rows.iter().map(|r| fold(&r.fields.full_name)).collect();
            names.sort();
            names.dedup();
            let mut planner = RowPlanner::new(&idx, opts, db.people_index_for(&keys, &names).await?);
            for r in rows {
                planner.row(r, &mut report);
            }
            planner
        }
    };
    let RowPlanner { mut plan, mut by_unit, mut blocked, kept: parsed, .. } = planner;
    // A unit with a row in error is held back whole.
    for u in &failed_units {
        if let Ok(place) = resolve(u, &idx, &mut plan, opts, false) {
            *blocked.entry(place).or_default() += 1;
        }
    }
    let unit_name = |p: &Place, plan: &UnitPlan| match p {
        Place::Existing(id) => idx.names.get(id).cloned().unwrap_or_default(),
        Place::New(i) => plan.units[*i].0.name.clone(),
    };
    for (place, _) in blocked.iter() {
        let rows = by_unit.remove(place).unwrap_or_default();
        report.waiting.extend(rows.iter().filter(|(i, _)| *i != usize::MAX).map(|(i, _)| parsed[*i].row_no));
        report.held_back.push((unit_name(place, &plan), rows.len()));
    }
    report.held_back.sort();
    report.waiting.sort_unstable();

    let listed = match errors {
        Some(out) if report.rejected() > 0 => write_errors_xlsx(path, &report, opts.limits, out)?,
        _ => 0,
    };
    let written =
        apply_planned(db, path, opts, &parsed, by_unit, plan, ministry_to_create, &mut report, progress).await;
    if let Err(e) = written {
        discard_errors_file(errors, listed);
        return Err(e);
    }
    report.errors.sort_by_key(|e| e.row_no);
    Ok((report, listed))
}

/// Take back the error file an import wrote before it failed after all.
fn discard_errors_file(errors: Option<&Path>, listed: usize) {
    if let (Some(out), true) = (errors, listed > 0) {
        let _ = std::fs::remove_file(out);
    }
}

/// Create the units the planned rows need, then write the rows.
#[allow(clippy::too_many_arguments)]
async fn apply_planned(
    db: &Db,
    path: &Path,
    opts: &Options,
    parsed: &[ParsedRow],
    mut by_unit: BTreeMap<Place, Vec<(usize, Class)>>,
    plan: UnitPlan,
    ministry_to_create: bool,
    report: &mut Report,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    // Create the units still needed by units that will be written.
    let needed: HashSet<usize> =
        by_unit.keys().filter_map(|p| if let Place::New(i) = p { Some(*i) } else { None }).collect();
    let mut new_ids: HashMap<usize, i64> = HashMap::new();
    let mut committed = Committed::default();
    if !needed.is_empty() {
        let (list, remap) = plan.subset(&needed);
        report.units_created = list.len();
        if !opts.dry_run {
            let mut list = list;
            if ministry_to_create {
                let id = db.create_unit(opts.actor, &ministry()).await?;
                committed.units_created += 1;
                for (_, parent) in &mut list {
                    if *parent == Ok(0) {
                        *parent = Ok(id);
                    }
                }
            }
            let ids = db.create_units_batch(opts.actor, &list).await.map_err(|e| committed.interrupted(e.into()))?;
            committed.units_created += list.len();
            for (i, j) in remap {
                new_ids.insert(i, ids[j]);
            }
        }
    }

    write(db, opts, path, parsed, std::mem::take(&mut by_unit), &new_ids, report, &mut committed, progress)
        .await
        .map_err(|e| committed.interrupted(e))
}

/// What the thread reading a file sends to the one writing.
enum Feed {
    /// Rows cleaned together, the flags of those to add (the others are of units held back
    /// meanwhile), and how many rows of the file have been read so far.
    Rows(Vec<PersonRow>, Vec<bool>, usize),
    Done(Box<Planned>),
    Failed(ImportError),
}

/// What reading and planning found, once the whole file is read.
struct Planned {
    report: Report,
    idx: UnitIndex,
    plan: UnitPlan,
    /// The unit of each row sent to be written, in order, and its row number.
    places: Vec<Place>,
    row_nos: Vec<u32>,
    /// Units held back: rows in error or duplicated there.
    blocked: foldhash::HashMap<Place, usize>,
    /// Good rows not sent because their unit was already held back, and their row numbers.
    withheld: foldhash::HashMap<Place, usize>,
    withheld_rows: Vec<usize>,
}

/// Rows that come after a row before it is sent to the writer.
const FEED_ROWS: usize = 5_000;

/// Rows a cleaning thread takes at a time in a first load.
const PIPE_ROWS: usize = 4_000;

/// A row's unit columns, cleaned, in one string: the key under which a national file's few
/// dozen rows of each school resolve it once. `ends` keeps the parts apart whatever they hold.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct UnitKey {
    text: String,
    ends: [u32; 3],
}

impl UnitKey {
    fn of(r: &ParsedRow) -> UnitKey {
        let parts = [&r.province, &r.commune, &r.school, &r.school_code];
        let mut text = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut ends = [0u32; 3];
        for (i, part) in parts.into_iter().enumerate() {
            text.push_str(part);
            if i < 3 {
                ends[i] = text.len() as u32;
            }
        }
        UnitKey { text, ends }
    }

    fn unit(&self, levels: &[bdtx_domain::org::Level]) -> UnitRef {
        let [a, b, c] = self.ends.map(|e| e as usize);
        UnitRef {
            province: self.text[..a].to_string(),
            commune: self.text[a..b].to_string(),
            school: self.text[b..c].to_string(),
            school_code: self.text[c..].to_string(),
            levels: levels.to_vec(),
        }
    }
}

/// A chunk of rows cleaned on a cleaning thread: the people of its good rows, in order, and
/// what planning needs of every row. The people go on to the writer as they are (a person is
/// some 400 bytes: moved row by row, they cost more than the planning).
struct Cleaned {
    mapping: std::sync::Arc<Mapping>,
    people: Vec<PersonRow>,
    rows: Vec<CleanedRow>,
}

enum CleanedRow {
    /// A good row; its person is the next one in `people`.
    Good { row_no: usize, unit: UnitKey, warnings: Vec<(Field, &'static str)> },
    /// A row in error keeps its cells (to find its unit and hold it back).
    Bad { errors: Vec<RowError>, cells: StringRecord },
}

/// Clean and check rows on the calling thread.
fn clean_rows(m: std::sync::Arc<Mapping>, rows: Vec<(usize, StringRecord)>, today: NaiveDate) -> Cleaned {
    let mut people = Vec::with_capacity(rows.len());
    let mut cleaned = Vec::with_capacity(rows.len());
    for (n, cells) in rows {
        cleaned.push(match parse_row(&m, n, &cells, today) {
            Ok(r) => {
                let unit = UnitKey::of(&r);
                let core = r.core.map(|m| (m, r.fields.main_subject.clone().unwrap_or_default()));
                people.push(PersonRow::new(r.fields, core));
                CleanedRow::Good { row_no: r.row_no, unit, warnings: r.warnings }
            }
            Err(errors) => CleanedRow::Bad { errors, cells },
        });
    }
    Cleaned { mapping: m, people, rows: cleaned }
}

/// A row naming the same person as an earlier row of the file.
/// A row whose identity key an earlier row of the file has: the same national ID (whoever the
/// names say), else the same name, birth date and contact.
fn duplicate_in_file(row_no: usize, fields: &PersonFields, first: usize) -> RowError {
    match &fields.national_id {
        Some(id) => RowError {
            row_no,
            field: Some(Field::NationalId),
            code: "duplicate_id_in_file",
            value: format!("{id} (dòng {first})"),
        },
        None => RowError {
            row_no,
            field: Some(Field::FullName),
            code: "duplicate_in_file",
            value: format!("{} (dòng {first})", fields.full_name),
        },
    }
}

/// Identity keys seen in the file so far, with the row that brought each: the keys' text in one
/// buffer and a table of where each is. A million keys each copied into a `String` of its own
/// cost the planning thread more than the rest of its work.
struct SeenKeys {
    text: String,
    /// (start, end) of a key in `text`, and its row.
    table: hashbrown::HashTable<(usize, usize, usize)>,
    /// A fast hash with a random seed (keys come from the file).
    hasher: foldhash::fast::RandomState,
}

impl SeenKeys {
    fn with_capacity(keys: usize) -> SeenKeys {
        SeenKeys {
            text: String::with_capacity(keys * 16),
            table: hashbrown::HashTable::with_capacity(keys),
            hasher: Default::default(),
        }
    }

    /// Record `key` as `row`'s; the first row that had it, if one did.
    fn insert(&mut self, key: &str, row: usize) -> Option<usize> {
        use std::hash::BuildHasher;
        let (text, hasher) = (&self.text, &self.hasher);
        let entry = self.table.entry(
            hasher.hash_one(key),
            |&(start, end, _)| &text[start..end] == key,
            |&(start, end, _)| hasher.hash_one(&text[start..end]),
        );
        match entry {
            hashbrown::hash_table::Entry::Occupied(first) => Some(first.get().2),
            hashbrown::hash_table::Entry::Vacant(slot) => {
                let start = self.text.len();
                self.text.push_str(key);
                slot.insert((start, self.text.len(), row));
                None
            }
        }
    }
}

/// Cleaned people waiting to be sent: the flags of those to add and their units, in order.
struct Waiting {
    people: Vec<PersonRow>,
    keep: Vec<bool>,
    places: Vec<Place>,
    row_nos: Vec<u32>,
}

/// What the thread reading the file learnt besides the rows.
struct FileInfo {
    headers: Vec<String>,
    unknown_columns: Vec<String>,
    encoding: TextEncoding,
}

/// Read, clean, check and plan, and send the rows to add as they come; the caller writes them
/// meanwhile. A pipeline: one thread reads the file and deals chunks of rows in turn to cleaning
/// threads (one a core), this thread takes their results back in file order, plans them
/// (units, duplicates) and sends the ready rows on. Every stage runs at once, so the cores stay
/// busy however the work is split between reading, cleaning and writing.
fn read_and_plan(
    path: &Path,
    opts: &Options,
    idx: UnitIndex,
    today: NaiveDate,
    tx: &tokio::sync::mpsc::Sender<Feed>,
) -> Result<Planned, ImportError> {
    type Chunk = (std::sync::Arc<Mapping>, Vec<(usize, StringRecord)>);
    let mut st = Planned {
        report: Report::default(),
        idx,
        plan: UnitPlan::default(),
        places: Vec::new(),
        row_nos: Vec::new(),
        blocked: Default::default(),
        withheld: Default::default(),
        withheld_rows: Vec::new(),
    };
    let mut failed_units: Vec<UnitRef> = Vec::new();
    // foldhash: a fast hash with a random seed (keys come from the file). Sized for the rows
    // the file likely holds (at least 100 bytes each), as growing a map of a million keys
    // moves them all.
    let rows_guess = std::fs::metadata(path).map(|m| m.len() as usize / 100).unwrap_or(0).min(4_000_000);
    let mut seen = SeenKeys::with_capacity(rows_guess);
    let mut resolved_units: foldhash::HashMap<UnitKey, Result<Place, &'static str>> = Default::default();
    // Good rows wait here for FEED_ROWS more to come before they are sent: the rows of a school
    // usually come together, so a row in error usually holds its school back before that
    // school's rows went into the database (rows written and then held back are taken out
    // again at the end, at a cost).
    let mut waiting: VecDeque<Waiting> = VecDeque::new();
    let mut waiting_rows = 0usize;
    let workers = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).clamp(1, 8);
    let info = std::thread::scope(|s| -> Result<FileInfo, ImportError> {
        let mut to_clean = Vec::with_capacity(workers);
        let mut cleaned = Vec::with_capacity(workers);
        for _ in 0..workers {
            let (chunks, input) = std::sync::mpsc::sync_channel::<Chunk>(1);
            let (results, output) = std::sync::mpsc::sync_channel::<Cleaned>(1);
            let cleaner = std::thread::Builder::new().name("roster-clean".into());
            cleaner
                .spawn_scoped(s, move || {
                    for (m, rows) in input {
                        if results.send(clean_rows(m, rows, today)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| ReadError::Io(e.to_string()))?;
            to_clean.push(chunks);
            cleaned.push(output);
        }
        let reader = std::thread::Builder::new().name("roster-read".into());
        let reader = reader
            .spawn_scoped(s, move || -> Result<FileInfo, ImportError> {
                let mut mapping: Option<std::sync::Arc<Mapping>> = None;
                let (mut headers, mut k) = (Vec::new(), 0usize);
                let mut pending: Vec<(usize, StringRecord)> = Vec::with_capacity(PIPE_ROWS);
                let stopped = || ImportError::Store(StoreError::Other("planning stopped".into()));
                let encoding = for_each_record::<ImportError>(path, opts.limits, |row_no, cells| {
                    let Some(m) = &mapping else {
                        let cells: Vec<String> = cells.iter().map(String::from).collect();
                        mapping = Some(std::sync::Arc::new(map_headers(&cells, &opts.overrides)?));
                        headers = cells;
                        return Ok(());
                    };
                    pending.push((row_no, cells));
                    if pending.len() == PIPE_ROWS {
                        let rows = std::mem::replace(&mut pending, Vec::with_capacity(PIPE_ROWS));
                        to_clean[k % workers].send((m.clone(), rows)).map_err(|_| stopped())?;
                        k += 1;
                    }
                    Ok(())
                })?;
                let Some(m) = mapping else {
                    return Err(ReadError::Empty.into());
                };
                if !pending.is_empty() {
                    to_clean[k % workers].send((m.clone(), pending)).map_err(|_| stopped())?;
                }
                Ok(FileInfo { headers, unknown_columns: m.unknown.clone(), encoding })
            })
            .map_err(|e| ReadError::Io(e.to_string()))?;
        let mut k = 0usize;
        // Chunks come back in the order they were dealt; a closed channel means the reader is done.
        while let Ok(chunk) = cleaned[k % workers].recv() {
            k += 1;
            let Cleaned { mapping: m, people, rows } = chunk;
            st.report.rows += rows.len();
            let mut keep = vec![false; people.len()];
            let mut places = Vec::with_capacity(people.len());
            let mut row_nos = Vec::with_capacity(people.len());
            let mut j = 0usize;
            for row in rows {
                let (row_no, unit, warnings) = match row {
                    CleanedRow::Good { row_no, unit, warnings } => (row_no, unit, warnings),
                    CleanedRow::Bad { errors, cells } => {
                        st.report.errors.extend(errors);
                        // Hold its unit back now if it is known already; else look again once
                        // the whole file is planned (a later row may plan the school it names).
                        let unit = UnitRef::raw(&m, &cells);
                        match resolve(&unit, &st.idx, &mut st.plan, opts, false) {
                            Ok(place) => *st.blocked.entry(place).or_default() += 1,
                            Err(_) => failed_units.push(unit),
                        }
                        continue;
                    }
                };
                let person = &people[j];
                let at = j;
                j += 1;
                st.report.note(row_no, &warnings);
                // A national file names each school a few dozen times: resolve each once. The
                // answer depends only on the unit columns; a planned school still gathers every
                // row's levels.
                let levels = &person.fields.levels;
                let resolved = match resolved_units.get(&unit) {
                    Some(known) => {
                        if let Ok(Place::New(i)) = known {
                            let planned = &mut st.plan.units[*i].0.levels;
                            for l in levels {
                                if !planned.contains(l) {
                                    planned.push(*l);
                                    planned.sort();
                                }
                            }
                        }
                        *known
                    }
                    None => {
                        let got = resolve(&unit.unit(levels), &st.idx, &mut st.plan, opts, true);
                        resolved_units.insert(unit.clone(), got);
                        got
                    }
                };
                let place = match resolved {
                    Ok(p) => p,
                    Err(code) => {
                        let value = unit.unit(&[]).school;
                        st.report.errors.push(RowError { row_no, field: Some(Field::School), code, value });
                        continue;
                    }
                };
                if let Some(first) = seen.insert(&person.identity_key, row_no) {
                    st.report.errors.push(duplicate_in_file(row_no, &person.fields, first));
                    *st.blocked.entry(place).or_default() += 1;
                    continue;
                }
                if st.blocked.contains_key(&place) {
                    // Its unit is held back already: no need to write it and take it out again.
                    *st.withheld.entry(place).or_default() += 1;
                    st.withheld_rows.push(row_no);
                    continue;
                }
                keep[at] = true;
                places.push(place);
                row_nos.push(row_no as u32);
            }
            waiting_rows += people.len();
            waiting.push_back(Waiting { people, keep, places, row_nos });
            while waiting.len() > 1 && waiting_rows - waiting[0].people.len() >= FEED_ROWS {
                let first = waiting.pop_front().expect("waiting");
                waiting_rows -= first.people.len();
                // On failure the receivers drop with this closure: the cleaners and the reader stop.
                feed(&mut st, first, tx)?;
            }
        }
        drop(cleaned);
        reader.join().map_err(|_| ImportError::Store(StoreError::Other("reading the file failed".into())))?
    })?;
    st.report.headers = info.headers;
    st.report.unknown_columns = info.unknown_columns;
    st.report.encoding = Some(info.encoding);
    // A unit with a row in error is held back whole.
    for u in &failed_units {
        if let Ok(place) = resolve(u, &st.idx, &mut st.plan, opts, false) {
            *st.blocked.entry(place).or_default() += 1;
        }
    }
    for w in waiting {
        feed(&mut st, w, tx)?;
    }
    Ok(st)
}

/// Send a chunk's good rows to the writer, but for those of units held back meanwhile.
fn feed(st: &mut Planned, w: Waiting, tx: &tokio::sync::mpsc::Sender<Feed>) -> Result<(), ImportError> {
    let Waiting { people, mut keep, places, row_nos } = w;
    let mut places = places.into_iter().zip(row_nos);
    for k in keep.iter_mut().filter(|k| **k) {
        let (place, row_no) = places.next().expect("a place per row kept");
        if st.blocked.contains_key(&place) {
            *st.withheld.entry(place).or_default() += 1;
            st.withheld_rows.push(row_no as usize);
            *k = false;
        } else {
            st.places.push(place);
            st.row_nos.push(row_no);
        }
    }
    if !keep.contains(&true) {
        return Ok(());
    }
    tx.blocking_send(Feed::Rows(people, keep, st.report.rows))
        .map_err(|_| ImportError::Store(StoreError::Other("writing stopped".into())))
}

/// The Ministry, the root every province created by an import hangs under (a fresh database).
fn ministry() -> NewUnit {
    NewUnit {
        code: "BGDDT".into(),
        kind: UnitKind::Ministry,
        name: "Bộ Giáo dục và Đào tạo".into(),
        levels: vec![],
        parent_id: None,
        valid_from: NaiveDate::from_ymd_opt(1990, 1, 1).expect("date"),
        valid_to: None,
    }
}

/// A first load into an empty people table: the file is read and planned on one thread while
/// the rows go into the database on another, in one transaction (`BulkLoad`). Rows are written
/// before the whole file is known, so those of units held back at the end are taken out again;
/// the units the kept rows need are created and the stays written last. The caller commits or
/// rolls back.
async fn import_bulk(
    db: &Db,
    load: &mut BulkLoad,
    path: &Path,
    opts: &Options,
    errors: Option<&Path>,
    progress: Progress<'_>,
) -> Result<(Report, usize), ImportError> {
    let mut idx = UnitIndex::load(db, opts.within).await?;
    if idx.ministry.is_none() && opts.create_units {
        // A fresh database: the Ministry is the root every created province hangs under.
        let m = ministry();
        let id = load.create_unit(&m).await?;
        idx.ministry = Some(id);
        idx.by_code.insert(m.code.clone(), (id, "ministry".into()));
        idx.code_of.insert(id, m.code.clone());
        idx.names.insert(id, m.name.clone());
    }
    let today = bdtx_domain::dates::today();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Feed>(2);
    let (path2, opts2) = (path.to_path_buf(), opts.clone());
    std::thread::Builder::new()
        .name("roster-plan".into())
        .spawn(move || {
            let msg = match read_and_plan(&path2, &opts2, idx, today, &tx) {
                Ok(st) => Feed::Done(Box::new(st)),
                Err(e) => Feed::Failed(e),
            };
            let _ = tx.blocking_send(msg);
        })
        .map_err(|e| ReadError::Io(e.to_string()))?;
    let mut ids: Vec<i64> = Vec::new();
    let st = loop {
        match rx.recv().await {
            Some(Feed::Rows(rows, keep, read)) => {
                ids.extend(load.add_people(rows, keep).await?);
                progress("read", read, 0);
            }
            Some(Feed::Done(st)) if st.report.rows == 0 => return Err(ReadError::NoRows.into()),
            Some(Feed::Done(st)) => break *st,
            Some(Feed::Failed(e)) => return Err(e),
            None => return Err(StoreError::Other("reading stopped".into()).into()),
        }
    };
    let Planned { mut report, idx, plan, places, row_nos, blocked, withheld, withheld_rows } = st;
    // The good rows of units held back (those written are taken out again at the end).
    report.waiting = withheld_rows;
    report
        .waiting
        .extend(places.iter().zip(&row_nos).filter(|(p, _)| blocked.contains_key(*p)).map(|(_, r)| *r as usize));
    report.waiting.sort_unstable();
    drop(row_nos);
    progress("write", 0, ids.len());
    // The rows rejected are known: their file is written on a thread of its own while the
    // database takes the held-back rows out and builds its indexes (mostly on one core).
    let listing = match errors {
        Some(out) if report.rejected() > 0 => {
            let rejected = Report {
                errors: report.errors.clone(),
                similar: report.similar.clone(),
                waiting: report.waiting.clone(),
                ..Report::default()
            };
            let (src, out, limits) = (path.to_path_buf(), out.to_path_buf(), opts.limits);
            Some(tokio::task::spawn_blocking(move || write_errors_xlsx(&src, &rejected, limits, &out)))
        }
        _ => None,
    };
    let written = bulk_tail(load, path, &mut report, ids, BulkPlan { idx, plan, places, blocked, withheld }).await;
    let listed = match listing {
        Some(task) => task.await.map_err(|e| ImportError::Store(StoreError::Other(format!("error file: {e}"))))?,
        None => Ok(0),
    };
    if let Err(e) = written {
        discard_errors_file(errors, *listed.as_ref().unwrap_or(&0));
        return Err(e);
    }
    Ok((report, listed?))
}

/// What the reading of a first load planned (see [`Planned`]).
struct BulkPlan {
    idx: UnitIndex,
    plan: UnitPlan,
    places: Vec<Place>,
    blocked: foldhash::HashMap<Place, usize>,
    withheld: foldhash::HashMap<Place, usize>,
}

/// The end of a first load, once every row is read: held-back rows out, units, stays,
/// accounts, audit.
async fn bulk_tail(
    load: &mut BulkLoad,
    path: &Path,
    report: &mut Report,
    ids: Vec<i64>,
    planned: BulkPlan,
) -> Result<(), ImportError> {
    let BulkPlan { idx, plan, places, blocked, withheld } = planned;

    // Units held back: take their rows out again.
    let mut by_unit: BTreeMap<Place, Vec<i64>> = BTreeMap::new();
    for (id, place) in ids.iter().zip(&places) {
        by_unit.entry(*place).or_default().push(*id);
    }
    let unit_name = |p: &Place| match p {
        Place::Existing(id) => idx.names.get(id).cloned().unwrap_or_default(),
        Place::New(i) => plan.units[*i].0.name.clone(),
    };
    let mut removed: Vec<i64> = Vec::new();
    for place in blocked.keys() {
        let rows = by_unit.remove(place).unwrap_or_default();
        report.held_back.push((unit_name(place), rows.len() + withheld.get(place).copied().unwrap_or(0)));
        removed.extend(rows);
    }
    report.held_back.sort();
    removed.sort_unstable();
    let kept = ids.len() - removed.len();
    load.remove_people(removed).await?;

    // Create the units the kept rows need (and the planned units they hang under).
    let needed: HashSet<usize> =
        by_unit.keys().filter_map(|p| if let Place::New(i) = p { Some(*i) } else { None }).collect();
    let mut new_ids: HashMap<usize, i64> = HashMap::new();
    if !needed.is_empty() {
        let (list, remap) = plan.subset(&needed);
        report.units_created = list.len();
        let created = load.create_units(&list, true).await?;
        for (i, j) in remap {
            new_ids.insert(i, created[j]);
        }
    }

    // Stays, and one audit entry per unit.
    let mut stays: Vec<(i64, i64)> = Vec::with_capacity(kept);
    let mut summaries = Vec::with_capacity(by_unit.len());
    let file = path.file_name().map(|f| f.to_string_lossy().to_string());
    for (place, rows) in &by_unit {
        let unit_id = match place {
            Place::Existing(id) => *id,
            Place::New(i) => new_ids[i],
        };
        stays.extend(rows.iter().map(|id| (*id, unit_id)));
        let summary = serde_json::json!({"file": file, "added": rows.len(), "updated": 0, "unchanged": 0}).to_string();
        summaries.push((unit_id, summary));
        report.added += rows.len();
    }
    stays.sort_unstable();
    load.add_stays(stays).await?;
    load.add_accounts().await?;
    load.audit_units(summaries).await?;
    report.errors.sort_by_key(|e| e.row_no);
    Ok(())
}

/// Apply, whole units at a time, in batches of about 5,000 rows.
#[allow(clippy::too_many_arguments)]
async fn write(
    db: &Db,
    opts: &Options,
    path: &Path,
    parsed: &[ParsedRow],
    by_unit: BTreeMap<Place, Vec<(usize, Class)>>,
    new_ids: &HashMap<usize, i64>,
    report: &mut Report,
    committed: &mut Committed,
    progress: Progress<'_>,
) -> Result<(), ImportError> {
    let total: usize = by_unit.values().map(|v| v.len()).sum();
    let mut done = 0;
    let mut batch = Batch::default();
    let mut batch_rows = 0;
    // a batch's written counts count once its transaction has committed
    let counts = |b: &Batch| (b.adds.len(), b.changes.len());
    let mut inflight: Option<(tokio::task::JoinHandle<Result<Vec<i64>, StoreError>>, (usize, usize))> = None;
    let landed = |committed: &mut Committed, (added, updated): (usize, usize)| {
        committed.added += added;
        committed.updated += updated;
    };
    let units: Vec<_> = by_unit.into_iter().collect();
    for (place, rows) in units {
        let unit_id = match place {
            Place::Existing(id) => id,
            Place::New(i) => new_ids.get(&i).copied().unwrap_or(-1),
        };
        let (mut added, mut updated, mut unchanged) = (0, 0, 0);
        for (i, class) in rows {
            match class {
                Class::Unchanged => unchanged += 1,
                Class::Add => {
                    let r = &parsed[i];
                    added += 1;
                    let core = r.core.clone().map(|m| (m, r.fields.main_subject.clone().unwrap_or_default()));
                    batch.adds.push(NewPerson { fields: r.fields.clone(), unit_id, core });
                }
                Class::Change(id, moved) => {
                    let r = &parsed[i];
                    let old = db.person(id).await?.map(|p| p.fields()).unwrap_or_else(|| r.fields.clone());
                    let merged = merge_blanks(&r.fields, &old);
                    let move_to = moved.map(|_| unit_id);
                    if merged == old && move_to.is_none() {
                        unchanged += 1;
                    } else {
                        updated += 1;
                        if report.updates.len() < UPDATES_LISTED {
                            report.updates.push(Update {
                                row_no: r.row_no,
                                person_id: id,
                                full_name: old.full_name.clone(),
                                changed: changed_fields(&old, &merged, move_to.is_some()),
                            });
                        }
                        batch.changes.push(PersonChange { id, fields: merged, move_to });
                    }
                }
            }
            batch_rows += 1;
        }
        report.added += added;
        report.updated += updated;
        report.unchanged += unchanged;
        if added + updated > 0 {
            let summary = serde_json::json!({"file": path.file_name().map(|f| f.to_string_lossy().to_string()),
                "added": added, "updated": updated, "unchanged": unchanged});
            batch.summaries.push((unit_id, summary.to_string()));
        }
        if batch_rows >= 5_000 {
            done += batch_rows;
            if !opts.dry_run {
                // Write this batch while the next one is prepared; at most one is in flight.
                if let Some((h, n)) = inflight.take() {
                    h.await.map_err(|e| StoreError::Other(e.to_string()))??;
                    landed(committed, n);
                }
                let n = counts(&batch);
                let (db2, actor, from, b) = (db.clone(), opts.actor, opts.from, std::mem::take(&mut batch));
                inflight = Some((tokio::spawn(async move { db2.apply_roster_batch(actor, &b, from).await }), n));
            }
            batch = Batch::default();
            batch_rows = 0;
            progress("write", done, total);
        }
    }
    if let Some((h, n)) = inflight.take() {
        h.await.map_err(|e| StoreError::Other(e.to_string()))??;
        landed(committed, n);
    }
    if batch_rows > 0 && !opts.dry_run {
        db.apply_roster_batch(opts.actor, &batch, opts.from).await?;
        landed(committed, counts(&batch));
    }
    progress("write", total, total);
    Ok(())
}

/// The rows in error as an .xlsx laid out like the uploaded file, with a last column "Lỗi"
/// saying, per row, which column is wrong and why, and the good rows waiting with them (their
/// unit is held back): fix it and upload it again, and each unit goes in whole.
pub fn write_errors_xlsx(src: &Path, report: &Report, limits: Limits, out: &Path) -> Result<usize, ImportError> {
    let mut reasons: BTreeMap<usize, Vec<String>> = BTreeMap::new();
    for e in &report.errors {
        let column = e.field.map(|f| f.heading()).unwrap_or("Dòng");
        reasons.entry(e.row_no).or_default().push(format!("{column}: {}", crate::row::message(e.code)));
    }
    for s in &report.similar {
        reasons.entry(s.row_no).or_default().push(format!(
            "Họ và tên: giống người đã có trong hệ thống (mã {}); cần xác nhận trước khi nhập",
            s.existing.iter().map(|i| i.to_string()).collect::<Vec<_>>().join(", ")
        ));
    }
    for row_no in &report.waiting {
        reasons.entry(*row_no).or_default().push(
            "Chờ nhập: dòng này hợp lệ nhưng đơn vị còn dòng lỗi (nhập cả đơn vị hoặc không); \
             sửa các dòng lỗi rồi tải lại cả tệp này"
                .to_string(),
        );
    }
    // Streamed (constant memory: a national re-import can reject a few hundred thousand rows).
    // Every row is read again, but only those in error are copied out, as text (nothing from
    // the file becomes a formula), the file's own columns first and the reasons last.
    let io = |e: std::io::Error| ImportError::ErrorsFile { path: out.to_path_buf(), msg: e.to_string() };
    let mut sheet: Option<(crate::xlsx::StreamingXlsx, usize)> = None;
    let mut written = 0usize;
    let mut line: Vec<String> = Vec::new();
    for_each_record::<ImportError>(src, limits, |row_no, cells| {
        let Some((x, width)) = &mut sheet else {
            let mut headings: Vec<&str> = cells.iter().collect();
            headings.push("Lỗi");
            sheet = Some((crate::xlsx::StreamingXlsx::create(out, "Lỗi", &headings).map_err(io)?, cells.len()));
            return Ok(());
        };
        let Some(why) = reasons.get(&row_no) else { return Ok(()) };
        line.clear();
        line.extend((0..*width).map(|c| cells.get(c).unwrap_or("").to_string()));
        line.push(why.join("; "));
        x.push(&line).map_err(io)?;
        written += 1;
        Ok(())
    })?;
    match sheet {
        Some((x, _)) => x.finish().map_err(io)?,
        None => return Err(ReadError::Empty.into()),
    }
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::SeenKeys;

    #[test]
    fn seen_keys_tell_the_first_row_of_a_key() {
        // few slots at first: the table grows (and rehashes from the text) many times
        let mut seen = SeenKeys::with_capacity(1);
        let mut first = std::collections::HashMap::new();
        for row in 0..50_000usize {
            // every key comes back a few times; some are prefixes of others
            let key = format!("id:{:012}", (row * 7919) % 20_000);
            let key = if row % 5 == 0 { key[..10].to_string() } else { key };
            assert_eq!(seen.insert(&key, row), first.get(&key).copied(), "row {row}");
            first.entry(key).or_insert(row);
        }
        assert_eq!(seen.insert("", 1), None);
        assert_eq!(seen.insert("", 2), Some(1));
    }
}
