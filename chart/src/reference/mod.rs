//! Reference data from its authorities, compiled in (see `chart/reference/README.md`):
//! Cambodia's gazetteer and the WHO ICD-10 code list.

pub mod gazetteer;
pub mod icd10;
