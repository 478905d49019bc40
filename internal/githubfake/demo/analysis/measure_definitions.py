from ehrql import INTERVAL, Measures, codelist_from_csv, months
from ehrql.tables.core import medications, patients
from ehrql.tables.tpp import practice_registrations

antibiotics = codelist_from_csv("codelists/opensafely-antibacterials.csv", column="dmd_id")

measures = Measures()
registered = practice_registrations.for_patient_on(INTERVAL.start_date).exists_for_patient()
prescribed = (
    medications.where(medications.dmd_code.is_in(antibiotics))
    .where(medications.date.is_during(INTERVAL))
    .exists_for_patient()
)
measures.define_measure(
    name="antibiotic_prescribing",
    numerator=prescribed,
    denominator=registered & patients.exists_for_patient(),
    group_by={"sex": patients.sex},
    intervals=months(48).starting_on("2019-03-01"),
)
