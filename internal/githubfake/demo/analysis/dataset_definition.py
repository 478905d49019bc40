from ehrql import create_dataset, codelist_from_csv
from ehrql.tables.core import medications, patients
from ehrql.tables.tpp import addresses, practice_registrations

index_date = "2019-03-01"
antibiotics = codelist_from_csv("codelists/opensafely-antibacterials.csv", column="dmd_id")

dataset = create_dataset()
registered = practice_registrations.for_patient_on(index_date).exists_for_patient()
dataset.define_population(registered & (patients.age_on(index_date) >= 18))

age = patients.age_on(index_date)
dataset.age_band = (age // 10 * 10).as_int()
dataset.sex = patients.sex
dataset.region = practice_registrations.for_patient_on(index_date).practice_nuts1_region_name
dataset.imd_quintile = addresses.for_patient_on(index_date).imd_quintile
dataset.antibiotic_prescribed = (
    medications.where(medications.dmd_code.is_in(antibiotics))
    .where(medications.date.is_on_or_between(index_date, "2023-02-28"))
    .exists_for_patient()
)
