/* The standard clinical model as a JSON Schema (2020-12): the one definition that the API
 * serves, the validator interprets and the tests check with ajv. Written as JSON tokens and
 * turned into a string by the preprocessor, so it needs no escaping. Patterns use only the
 * syntax shared by ECMA-262 and POSIX ERE (no backslashes). */
#include "clinical.h"
#include <pthread.h>

#define ZG_JSON_TEXT(...) #__VA_ARGS__

static const char schema_text[] = ZG_JSON_TEXT({
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://zengen.example/schemas/clinical/1.0",
    "title": "zengen standard clinical record",
    "description": "One case's clinical data (docs/clinical-model.md). Codes use standard vocabularies; free text may accompany a code, never replace it.",
    "type": "object",
    "additionalProperties": false,
    "properties": {
        "model_version": {"type": "string", "enum": ["1.0"]},
        "case_id": {"type": "string", "pattern": "^ZGC-[0-9A-Z]{4}-[0-9A-Z]{5}$"},
        "consent": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "status": {"enum": ["consented", "partially-consented", "withdrawn", "pending"]},
                "date": {"$ref": "#/$defs/date"},
                "secondary_findings": {"type": "boolean"},
                "text": {"$ref": "#/$defs/text"}
            }
        },
        "patient": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "sex": {"enum": ["female", "male", "other", "unknown"]},
                "birth_year_month": {"type": "string", "pattern": "^(19|20)[0-9]{2}-(0[1-9]|1[0-2])$"}
            }
        },
        "specimens": {
            "type": "array", "maxItems": 100,
            "items": {
                "type": "object", "additionalProperties": false,
                "required": ["type"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "specimen_id": {"type": "string", "pattern": "^ZGS-[0-9A-Z]{4}-[0-9A-Z]{5}$"},
                    "type": {"enum": ["tumour-tissue", "tumour-ffpe", "normal-blood", "normal-tissue", "plasma", "other"]},
                    "collection_date": {"$ref": "#/$defs/date"},
                    "method": {"enum": ["biopsy", "surgery", "blood-draw", "cytology", "other"]},
                    "site": {"$ref": "#/$defs/site"},
                    "tumour_cellularity": {"type": "integer", "minimum": 0, "maximum": 100},
                    "text": {"$ref": "#/$defs/text"}
                }
            }
        },
        "background": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "smoking": {
                    "type": "object", "additionalProperties": false, "required": ["status"],
                    "properties": {
                        "status": {"enum": ["never", "former", "current", "unknown"]},
                        "pack_years": {"type": "number", "minimum": 0, "maximum": 300}
                    }
                },
                "alcohol": {
                    "type": "object", "additionalProperties": false, "required": ["status"],
                    "properties": {
                        "status": {"enum": ["never", "former", "current", "unknown"]},
                        "text": {"$ref": "#/$defs/text"}
                    }
                },
                "comorbidities": {
                    "type": "array", "maxItems": 100,
                    "items": {
                        "type": "object", "additionalProperties": false, "required": ["icd10"],
                        "properties": {
                            "id": {"$ref": "#/$defs/id"},
                            "icd10": {"$ref": "#/$defs/icd10"},
                            "text": {"$ref": "#/$defs/text"}
                        }
                    }
                },
                "family_history": {
                    "type": "array", "maxItems": 100,
                    "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["relation", "icd10"],
                        "properties": {
                            "id": {"$ref": "#/$defs/id"},
                            "relation": {"enum": ["mother", "father", "sibling", "child", "grandparent", "aunt-uncle", "cousin", "other"]},
                            "icd10": {"$ref": "#/$defs/icd10"},
                            "oncotree": {"$ref": "#/$defs/oncotree"},
                            "age_at_diagnosis": {"type": "integer", "minimum": 0, "maximum": 120},
                            "text": {"$ref": "#/$defs/text"}
                        }
                    }
                }
            }
        },
        "diagnosis": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "oncotree": {"$ref": "#/$defs/oncotree"},
                "icd10": {"$ref": "#/$defs/icd10"},
                "icdo3_topography": {"$ref": "#/$defs/topography"},
                "icdo3_morphology": {"type": "string", "pattern": "^[89][0-9]{3}/[012369]$"},
                "date": {"$ref": "#/$defs/date"},
                "histology_text": {"$ref": "#/$defs/text"},
                "text": {"$ref": "#/$defs/text"},
                "tnm": {
                    "type": "object", "additionalProperties": false, "required": ["edition", "stage"],
                    "properties": {
                        "edition": {"type": "integer", "enum": [8]},
                        "kind": {"enum": ["clinical", "pathological"]},
                        "t": {"type": "string", "pattern": "^(TX|T0|Tis|T1mi|T[1-4][a-d]?[1-3]?)$"},
                        "n": {"type": "string", "pattern": "^(NX|N[0-3][a-c]?)$"},
                        "m": {"type": "string", "pattern": "^(MX|M0|M1[a-d]?)$"},
                        "stage": {"enum": ["0", "IA", "IA1", "IA2", "IA3", "IB", "IC", "II", "IIA", "IIB", "IIC", "III", "IIIA", "IIIB", "IIIC", "IV", "IVA", "IVB", "IVC", "occult", "not-applicable"]}
                    }
                },
                "metastatic_sites": {
                    "type": "array", "maxItems": 50,
                    "items": {
                        "type": "object", "additionalProperties": false,
                        "required": ["icdo3_topography"],
                        "properties": {
                            "id": {"$ref": "#/$defs/id"},
                            "icdo3_topography": {"$ref": "#/$defs/topography"},
                            "date": {"$ref": "#/$defs/date"},
                            "text": {"$ref": "#/$defs/text"}
                        }
                    }
                },
                "performance_status": {
                    "type": "object", "additionalProperties": false, "required": ["scale", "value"],
                    "properties": {
                        "scale": {"enum": ["ECOG", "KPS"]},
                        "value": {"type": "integer", "minimum": 0, "maximum": 100},
                        "date": {"$ref": "#/$defs/date"}
                    }
                }
            }
        },
        "drug_therapies": {
            "type": "array", "maxItems": 200,
            "items": {
                "type": "object", "additionalProperties": false,
                "required": ["drugs", "start_date"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "line": {"type": "integer", "minimum": 1, "maximum": 30},
                    "regimen": {"type": "string", "minLength": 1, "maxLength": 200},
                    "drugs": {"type": "array", "minItems": 1, "maxItems": 20, "items": {"$ref": "#/$defs/drug"}},
                    "intent": {"$ref": "#/$defs/intent"},
                    "start_date": {"$ref": "#/$defs/date"},
                    "end_date": {"$ref": "#/$defs/date"},
                    "best_response": {"enum": ["CR", "PR", "SD", "PD", "NE"]},
                    "stop_reason": {"enum": ["completed", "progression", "toxicity", "patient-choice", "death", "other", "ongoing"]},
                    "text": {"$ref": "#/$defs/text"}
                }
            }
        },
        "surgeries": {
            "type": "array", "maxItems": 50,
            "items": {
                "type": "object", "additionalProperties": false, "required": ["date", "procedure"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "date": {"$ref": "#/$defs/date"},
                    "procedure": {
                        "type": "object", "additionalProperties": false, "required": ["system", "code"],
                        "properties": {
                            "system": {"enum": ["snomed", "k-code"]},
                            "code": {"type": "string", "pattern": "^[0-9A-Za-z.-]{1,20}$"},
                            "text": {"$ref": "#/$defs/text"}
                        }
                    },
                    "residual": {"enum": ["R0", "R1", "R2", "RX"]},
                    "intent": {"$ref": "#/$defs/intent"}
                }
            }
        },
        "radiotherapies": {
            "type": "array", "maxItems": 50,
            "items": {
                "type": "object", "additionalProperties": false, "required": ["start_date", "site"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "start_date": {"$ref": "#/$defs/date"},
                    "end_date": {"$ref": "#/$defs/date"},
                    "site": {"$ref": "#/$defs/site"},
                    "dose_gy": {"type": "number", "minimum": 0, "maximum": 200},
                    "fractions": {"type": "integer", "minimum": 1, "maximum": 100},
                    "intent": {"$ref": "#/$defs/intent"}
                }
            }
        },
        "adverse_events": {
            "type": "array", "maxItems": 200,
            "items": {
                "type": "object", "additionalProperties": false, "required": ["term", "grade", "date"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "term": {"type": "string", "minLength": 2, "maxLength": 200},
                    "meddra": {"type": "string", "pattern": "^[0-9]{8}$"},
                    "grade": {"type": "integer", "minimum": 3, "maximum": 5},
                    "date": {"$ref": "#/$defs/date"},
                    "drug": {"type": "string", "minLength": 1, "maxLength": 100}
                }
            }
        },
        "course": {
            "type": "object", "additionalProperties": false,
            "properties": {
                "recurrence_date": {"$ref": "#/$defs/date"},
                "progression_date": {"$ref": "#/$defs/date"},
                "last_followup_date": {"$ref": "#/$defs/date"},
                "vital_status": {"enum": ["alive", "dead", "unknown"]},
                "death_date": {"$ref": "#/$defs/date"},
                "death_cause": {"enum": ["cancer", "treatment", "other", "unknown"]},
                "death_cause_text": {"$ref": "#/$defs/text"}
            }
        },
        "expert_panel": {
            "type": "array", "maxItems": 50,
            "items": {
                "type": "object", "additionalProperties": false, "required": ["date"],
                "properties": {
                    "id": {"$ref": "#/$defs/id"},
                    "date": {"$ref": "#/$defs/date"},
                    "recommendations": {
                        "type": "array", "maxItems": 20,
                        "items": {
                            "type": "object", "additionalProperties": false, "required": ["treatment"],
                            "properties": {
                                "treatment": {"type": "string", "minLength": 1, "maxLength": 200},
                                "drugs": {"type": "array", "maxItems": 20, "items": {"$ref": "#/$defs/drug"}},
                                "evidence_level": {"enum": ["A", "B", "C", "D", "E", "R"]},
                                "given": {"type": "boolean"},
                                "trial_enrolled": {"type": "boolean"},
                                "trial_id": {"type": "string", "pattern": "^(jRCT|NCT|UMIN|JapicCTI-)[0-9A-Za-z]{6,14}$"}
                            }
                        }
                    },
                    "text": {"$ref": "#/$defs/text"}
                }
            }
        }
    },
    "$defs": {
        "date": {"type": "string", "format": "date", "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"},
        "text": {"type": "string", "minLength": 1, "maxLength": 2000},
        "id": {"type": "string", "minLength": 1, "maxLength": 64},
        "icd10": {"type": "string", "pattern": "^[A-Z][0-9]{2}([.][0-9A-Z]{1,2})?$"},
        "topography": {"type": "string", "pattern": "^C[0-9]{2}([.][0-9])?$"},
        "oncotree": {"type": "string", "pattern": "^[A-Z0-9_/-]{2,16}$"},
        "intent": {"enum": ["curative", "palliative", "adjuvant", "neoadjuvant", "other"]},
        "site": {
            "type": "object", "additionalProperties": false, "required": ["icdo3_topography"],
            "properties": {
                "icdo3_topography": {"$ref": "#/$defs/topography"},
                "text": {"$ref": "#/$defs/text"}
            }
        },
        "drug": {
            "type": "object", "additionalProperties": false,
            "description": "A drug: its generic (INN) name and/or a code (ATC, YJ, HOT9); free text may accompany them.",
            "anyOf": [{"required": ["name"]}, {"required": ["atc"]}, {"required": ["yj"]}, {"required": ["hot9"]}],
            "properties": {
                "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9 ()/+-]{1,99}$"},
                "atc": {"type": "string", "pattern": "^[A-Z][0-9]{2}[A-Z]{2}[0-9]{2}$"},
                "yj": {"type": "string", "pattern": "^[0-9A-Z]{12}$"},
                "hot9": {"type": "string", "pattern": "^[0-9]{9}$"},
                "text": {"$ref": "#/$defs/text"}
            }
        }
    }
});

const char *zg_clinical_schema_text(void)
{
    return schema_text;
}

static json_t *parsed;
static pthread_once_t parse_once = PTHREAD_ONCE_INIT;

static void parse_schema(void)
{
    parsed = json_loads(schema_text, JSON_REJECT_DUPLICATES, NULL);
}

json_t *zg_clinical_schema(void)
{
    pthread_once(&parse_once, parse_schema);
    return parsed;
}
