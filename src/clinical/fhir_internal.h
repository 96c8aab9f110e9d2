/* Code systems, extension URLs and value maps shared by the FHIR import and export
 * (internal to src/clinical; the mapping is documented in docs/clinical-fhir.md). */
#ifndef ZG_CLINICAL_FHIR_INTERNAL_H
#define ZG_CLINICAL_FHIR_INTERNAL_H

#include "clinical.h"

#define FHIR_EXT ZG_FHIR_BASE "/StructureDefinition/"
#define FHIR_CS ZG_FHIR_BASE "/CodeSystem/"
#define SYS_ITEM_ID ZG_FHIR_BASE "/sid/item-id"
#define SYS_SPECIMEN ZG_FHIR_BASE "/sid/specimen-id"
#define SYS_ONCOTREE "http://oncotree.mskcc.org/fhir/CodeSystem/snapshot"
#define SYS_ICD10 "http://hl7.org/fhir/sid/icd-10"
#define SYS_ICDO3 "http://terminology.hl7.org/CodeSystem/icd-o-3"
#define SYS_SNOMED "http://snomed.info/sct"
#define SYS_LOINC "http://loinc.org"
#define SYS_ATC "http://www.whocc.no/atc"
#define SYS_YJ "urn:oid:1.2.392.100495.20.1.73"
#define SYS_MEDDRA "http://terminology.hl7.org/CodeSystem/mdr"
#define SYS_ROLE "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
#define SYS_KCODE FHIR_CS "k-code"
#define SYS_UCUM "http://unitsofmeasure.org"

#define LOINC_ECOG "89247-1"
#define LOINC_KPS "89243-0"
#define LOINC_SMOKING "72166-2"
#define LOINC_ALCOHOL "11331-6"
#define LOINC_DEATH_CAUSE "79378-6"
#define SCT_PACK_YEARS "401201003"
#define SCT_METASTASIS "128462008"
#define SCT_SURGERY "387713003"
#define SCT_RADIOTHERAPY "108290001"

/* Arrays of the model that may be recorded as empty ("none"), with where they live. Exported
 * as Patient extension recorded-none (valueCode = the name) so that [] survives a round trip. */
static const struct {
    const char *name, *group, *member;
} fhir_lists[] ZG_UNUSED = {{"specimens", NULL, "specimens"},
                            {"drug_therapies", NULL, "drug_therapies"},
                            {"surgeries", NULL, "surgeries"},
                            {"radiotherapies", NULL, "radiotherapies"},
                            {"adverse_events", NULL, "adverse_events"},
                            {"expert_panel", NULL, "expert_panel"},
                            {"background.comorbidities", "background", "comorbidities"},
                            {"background.family_history", "background", "family_history"},
                            {"diagnosis.metastatic_sites", "diagnosis", "metastatic_sites"}};

/* smoking status ↔ SNOMED CT */
static const struct {
    const char *model, *sct;
} fhir_smoking[] ZG_UNUSED = {{"never", "266919005"},
                              {"former", "8517006"},
                              {"current", "77176002"},
                              {"unknown", "266927001"}};

/* family relation ↔ v3 RoleCode (first entry of each relation is the one exported) */
static const struct {
    const char *code, *model;
} fhir_relations[] ZG_UNUSED = {
    {"MTH", "mother"},   {"NMTH", "mother"},     {"FTH", "father"},     {"NFTH", "father"},
    {"SIB", "sibling"},  {"BRO", "sibling"},     {"SIS", "sibling"},    {"NBRO", "sibling"},
    {"NSIS", "sibling"}, {"HBRO", "sibling"},    {"HSIS", "sibling"},   {"TWIN", "sibling"},
    {"CHILD", "child"},  {"SON", "child"},       {"DAU", "child"},      {"NCHILD", "child"},
    {"GRPRN", "grandparent"}, {"GRMTH", "grandparent"}, {"GRFTH", "grandparent"},
    {"MGRMTH", "grandparent"}, {"MGRFTH", "grandparent"}, {"PGRMTH", "grandparent"},
    {"PGRFTH", "grandparent"}, {"EXT", "aunt-uncle"}, {"AUNT", "aunt-uncle"},
    {"UNCLE", "aunt-uncle"}, {"MAUNT", "aunt-uncle"}, {"MUNCLE", "aunt-uncle"},
    {"PAUNT", "aunt-uncle"}, {"PUNCLE", "aunt-uncle"}, {"COUSN", "cousin"},
    {"MCOUSN", "cousin"}, {"PCOUSN", "cousin"}, {"FAMMEMB", "other"}};

#endif
