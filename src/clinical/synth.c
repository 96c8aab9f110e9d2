/* Synthetic clinical records for the demo, the benchmarks and tests: plausible combinations of
 * cancer type, codes, stage, treatment lines, responses and outcomes. Only invented data. */
#include "clinical.h"

struct cancer {
    const char *oncotree, *icd10, *topo, *morph, *histology;
    const char *surgery_code, *surgery_text;
    const char *lines[3][3]; /* up to three lines of up to three drugs (INN) */
    const char *regimen[3];
    const char *met_topo;
};

static const struct cancer cancers[] = {
    {"LUAD", "C34.1", "C34.1", "8140/3", "腺癌 adenocarcinoma", "173171007", "lobectomy of lung",
     {{"osimertinib"}, {"carboplatin", "pemetrexed", "pembrolizumab"}, {"docetaxel", "ramucirumab"}},
     {"osimertinib", "CBDCA+PEM+Pembro", "DTX+RAM"}, "C71.9"},
    {"LUSC", "C34.3", "C34.3", "8070/3", "扁平上皮癌 squamous cell carcinoma", "173171007",
     "lobectomy of lung", {{"carboplatin", "paclitaxel", "pembrolizumab"}, {"docetaxel"}, {"s-1"}},
     {"CBDCA+PTX+Pembro", "DTX", "S-1"}, "C40.9"},
    {"COAD", "C18.7", "C18.7", "8140/3", "腺癌 adenocarcinoma", "23968004", "colectomy",
     {{"oxaliplatin", "fluorouracil", "bevacizumab"}, {"irinotecan", "fluorouracil", "cetuximab"},
      {"trifluridine/tipiracil"}},
     {"FOLFOX+BV", "FOLFIRI+Cmab", "FTD/TPI"}, "C22.0"},
    {"READ", "C20", "C20.9", "8140/3", "腺癌 adenocarcinoma", "28359007", "anterior resection of rectum",
     {{"capecitabine", "oxaliplatin"}, {"irinotecan", "fluorouracil", "panitumumab"}, {"regorafenib"}},
     {"CAPOX", "FOLFIRI+Pmab", "regorafenib"}, "C34.9"},
    {"STAD", "C16.2", "C16.2", "8144/3", "腸型腺癌 intestinal adenocarcinoma", "53442002", "gastrectomy",
     {{"s-1", "oxaliplatin", "nivolumab"}, {"paclitaxel", "ramucirumab"}, {"trastuzumab deruxtecan"}},
     {"SOX+Nivo", "PTX+RAM", "T-DXd"}, "C48.2"},
    {"IDC", "C50.4", "C50.4", "8500/3", "浸潤性乳管癌 invasive ductal carcinoma", "69031006",
     "mastectomy", {{"doxorubicin", "cyclophosphamide"}, {"paclitaxel", "trastuzumab", "pertuzumab"},
                    {"trastuzumab deruxtecan"}},
     {"AC", "PTX+HER+PER", "T-DXd"}, "C41.2"},
    {"PAAD", "C25.0", "C25.0", "8500/3", "浸潤性膵管癌 ductal adenocarcinoma", "13619001",
     "pancreaticoduodenectomy", {{"gemcitabine", "nab-paclitaxel"}, {"oxaliplatin", "irinotecan", "fluorouracil"}, {"s-1"}},
     {"GnP", "FOLFIRINOX", "S-1"}, "C22.0"},
    {"HCC", "C22.0", "C22.0", "8170/3", "肝細胞癌 hepatocellular carcinoma", "10939881000119105",
     "partial hepatectomy", {{"atezolizumab", "bevacizumab"}, {"lenvatinib"}, {"ramucirumab"}},
     {"Atezo+BV", "lenvatinib", "ramucirumab"}, "C34.9"},
    {"PRAD", "C61", "C61.9", "8140/3", "腺癌 adenocarcinoma", "90470006", "prostatectomy",
     {{"enzalutamide"}, {"docetaxel"}, {"cabazitaxel"}}, {"ENZ", "DTX", "CBZ"}, "C41.9"},
    {"HGSOC", "C56", "C56.9", "8461/3", "高異型度漿液性癌 high-grade serous carcinoma",
     "83152002", "oophorectomy", {{"carboplatin", "paclitaxel", "bevacizumab"}, {"olaparib"}, {"doxorubicin"}},
     {"TC+BV", "olaparib", "PLD"}, "C48.2"},
    {"ESCC", "C15.4", "C15.4", "8070/3", "扁平上皮癌 squamous cell carcinoma", "26390003",
     "esophagectomy", {{"cisplatin", "fluorouracil"}, {"nivolumab"}, {"docetaxel"}},
     {"CF", "nivolumab", "DTX"}, "C77.1"},
    {"CCRCC", "C64", "C64.9", "8310/3", "淡明細胞型腎細胞癌 clear cell RCC", "108022006",
     "nephrectomy", {{"nivolumab", "ipilimumab"}, {"cabozantinib"}, {"axitinib"}},
     {"Nivo+Ipi", "cabozantinib", "axitinib"}, "C34.9"},
    {"BLCA", "C67.9", "C67.9", "8120/3", "尿路上皮癌 urothelial carcinoma", "26294005",
     "cystectomy", {{"gemcitabine", "cisplatin"}, {"pembrolizumab"}, {"enfortumab vedotin"}},
     {"GC", "pembrolizumab", "EV"}, "C34.9"},
    {"GBM", "C71.1", "C71.1", "9440/3", "膠芽腫 glioblastoma", "118819003", "excision of brain lesion",
     {{"temozolomide"}, {"bevacizumab"}, {NULL}}, {"TMZ", "BV", NULL}, NULL},
    {"SKCM", "C43.5", "C44.5", "8720/3", "悪性黒色腫 melanoma", "177302008", "wide local excision",
     {{"nivolumab", "ipilimumab"}, {"dabrafenib", "trametinib"}, {NULL}}, {"Nivo+Ipi", "D+T", NULL}, "C34.9"},
    {"UEC", "C54.1", "C54.1", "8380/3", "類内膜癌 endometrioid carcinoma", "236886002", "hysterectomy",
     {{"carboplatin", "paclitaxel"}, {"pembrolizumab", "lenvatinib"}, {NULL}}, {"TC", "Pembro+Len", NULL}, "C48.2"},
};

struct rng {
    uint64_t s;
};

static uint64_t next(struct rng *r)
{
    /* splitmix64: good enough for invented data, and the same on every platform */
    uint64_t z = (r->s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int pick(struct rng *r, int n)
{
    return (int)(next(r) % (uint64_t)n);
}

/* days since 2000-01-01 → YYYY-MM-DD */
static void day_str(int days, char out[16])
{
    static const int md[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int y = 1900;
    days += 36524; /* 1900-01-01 → 2000-01-01 */
    if (days < 0)
        days = 0;
    for (;;) {
        int yl = (y % 4 == 0 && (y % 100 || y % 400 == 0)) ? 366 : 365;
        if (days < yl)
            break;
        days -= yl;
        y++;
    }
    int m = 0;
    for (;; m++) {
        int ml = md[m] + (m == 1 && (y % 4 == 0 && (y % 100 || y % 400 == 0)));
        if (days < ml)
            break;
        days -= ml;
    }
    snprintf(out, 16, "%04d-%02d-%02d", y % 10000, (m + 1) % 100, (days + 1) % 100);
}

static json_t *date_j(int days)
{
    char d[16];
    day_str(days, d);
    return json_string(d);
}

json_t *zg_clinical_synth_record(uint64_t seed, const char *case_id)
{
    struct rng r = {seed * 0x2545F4914F6CDD1Dull + 17};
    const struct cancer *c = &cancers[pick(&r, (int)ZG_ARRAY_LEN(cancers))];
    int dx = 8400 + pick(&r, 700); /* 2023-2024 */
    bool female = !strcmp(c->oncotree, "IDC") || !strcmp(c->oncotree, "HGSOC") ||
                  !strcmp(c->oncotree, "UEC") ||
                  (strcmp(c->oncotree, "PRAD") && pick(&r, 2));
    int age = 40 + pick(&r, 45);
    char bym[16];
    day_str(dx - age * 365 - pick(&r, 300), bym);
    bym[7] = '\0';
    static const char *const stages[] = {"IA", "IB", "IIA", "IIB", "IIIA", "IIIB", "IVA", "IVB"};
    int si = pick(&r, (int)ZG_ARRAY_LEN(stages));
    const char *stage = stages[si];
    bool stage4 = si >= 6;
    json_t *rec = json_pack("{s:s,s:s}", "model_version", ZG_CLINICAL_MODEL_VERSION, "case_id",
                            case_id);
    json_object_set_new(rec, "consent",
                        json_pack("{s:s,s:o,s:b}", "status",
                                  pick(&r, 20) ? "consented" : "partially-consented", "date",
                                  date_j(dx + 10 + pick(&r, 20)), "secondary_findings",
                                  pick(&r, 4) != 0));
    json_object_set_new(rec, "patient", json_pack("{s:s,s:s}", "sex", female ? "female" : "male",
                                                  "birth_year_month", bym));
    json_t *sp = json_pack("[{s:s,s:s,s:o,s:s,s:{s:s},s:i},{s:s,s:s,s:o,s:s}]", "id", "s1",
                           "type", pick(&r, 3) ? "tumour-tissue" : "tumour-ffpe",
                           "collection_date", date_j(dx + 5), "method",
                           pick(&r, 2) ? "surgery" : "biopsy", "site", "icdo3_topography",
                           c->topo, "tumour_cellularity", 30 + pick(&r, 60), "id", "s2", "type",
                           "normal-blood", "collection_date", date_j(dx + 5), "method",
                           "blood-draw");
    json_object_set_new(rec, "specimens", sp);
    static const char *const smoke[] = {"never", "former", "current", "unknown"};
    const char *sm = smoke[pick(&r, 4)];
    json_t *bg = json_pack("{s:{s:s},s:{s:s}}", "smoking", "status", sm, "alcohol", "status",
                           smoke[pick(&r, 3)]);
    if (!strcmp(sm, "former") || !strcmp(sm, "current"))
        json_object_set_new(json_object_get(bg, "smoking"), "pack_years",
                            json_integer(5 + pick(&r, 50)));
    if (pick(&r, 3) == 0)
        json_object_set_new(bg, "comorbidities",
                            json_pack("[{s:s,s:s}]", "icd10", pick(&r, 2) ? "E11.9" : "I10",
                                      "text", "既往症 comorbidity"));
    if (pick(&r, 4) == 0)
        json_object_set_new(bg, "family_history",
                            json_pack("[{s:s,s:s,s:s,s:i}]", "relation",
                                      pick(&r, 2) ? "mother" : "father", "icd10", "C16.9",
                                      "oncotree", "STAD", "age_at_diagnosis", 60 + pick(&r, 25)));
    json_object_set_new(rec, "background", bg);
    json_t *tnm = json_pack("{s:i,s:s,s:s,s:s,s:s,s:s}", "edition", 8, "kind",
                            pick(&r, 2) ? "clinical" : "pathological", "t",
                            si < 2 ? "T1b" : si < 4 ? "T2a" : "T3", "n", si < 2 ? "N0" : "N1",
                            "m", stage4 ? "M1b" : "M0", "stage", stage);
    json_t *dxj = json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:o,s:{s:s,s:i,s:o}}", "oncotree",
                            c->oncotree, "icd10", c->icd10, "icdo3_topography", c->topo,
                            "icdo3_morphology", c->morph, "date", date_j(dx), "histology_text",
                            c->histology, "tnm", tnm, "performance_status", "scale", "ECOG",
                            "value", pick(&r, 3), "date", date_j(dx));
    if (stage4 && c->met_topo)
        json_object_set_new(dxj, "metastatic_sites",
                            json_pack("[{s:s,s:o}]", "icdo3_topography", c->met_topo, "date",
                                      date_j(dx)));
    json_object_set_new(rec, "diagnosis", dxj);

    int day = dx + 20;
    if (!stage4) {
        json_object_set_new(rec, "surgeries",
                            json_pack("[{s:s,s:o,s:{s:s,s:s,s:s},s:s,s:s}]", "id", "op1", "date",
                                      date_j(day), "procedure", "system", "snomed", "code",
                                      c->surgery_code, "text", c->surgery_text, "residual",
                                      pick(&r, 6) ? "R0" : "R1", "intent", "curative"));
        day += 40;
    }
    static const char *const resp[] = {"CR", "PR", "PR", "SD", "SD", "PD", "NE"};
    json_t *lines = json_array();
    int nlines = stage4 ? 1 + pick(&r, 3) : pick(&r, 2);
    bool dead = false, progressed = false;
    int prog_day = 0;
    for (int l = 0; l < nlines && l < 3 && c->lines[l][0]; l++) {
        json_t *drugs = json_array();
        for (int k = 0; k < 3 && c->lines[l][k]; k++)
            json_array_append_new(drugs, json_pack("{s:s}", "name", c->lines[l][k]));
        int len = 60 + pick(&r, 300);
        const char *br = resp[pick(&r, (int)ZG_ARRAY_LEN(resp))];
        bool last = l == nlines - 1 || l == 2 || !c->lines[l + 1][0];
        char id[8];
        snprintf(id, sizeof(id), "rx%d", l + 1);
        json_t *t = json_pack("{s:s,s:i,s:s,s:o,s:s,s:o,s:s}", "id", id, "line", l + 1, "regimen",
                              c->regimen[l], "drugs", drugs, "intent",
                              stage4 ? "palliative" : "adjuvant", "start_date", date_j(day),
                              "best_response", br);
        if (last && pick(&r, 2)) {
            json_object_set_new(t, "stop_reason", json_string("ongoing"));
        } else {
            static const char *const stops[] = {"progression", "progression", "toxicity",
                                                "completed", "patient-choice"};
            const char *st = stops[pick(&r, 5)];
            json_object_set_new(t, "end_date", date_j(day + len));
            json_object_set_new(t, "stop_reason", json_string(st));
            if (!strcmp(st, "progression") && !progressed) {
                progressed = true;
                prog_day = day + len - 5;
            }
            if (!strcmp(st, "toxicity")) {
                static const char *const ae[][2] = {{"Neutrophil count decreased", "10029366"},
                                                    {"Diarrhea", "10012735"},
                                                    {"Pneumonitis", "10035742"},
                                                    {"Febrile neutropenia", "10016288"}};
                int a = pick(&r, 4);
                json_t *aes = json_object_get(rec, "adverse_events");
                if (!aes) {
                    aes = json_array();
                    json_object_set_new(rec, "adverse_events", aes);
                }
                json_array_append_new(aes, json_pack("{s:s,s:s,s:i,s:o,s:s}", "term", ae[a][0],
                                                     "meddra", ae[a][1], "grade", 3 + pick(&r, 2),
                                                     "date", date_j(day + len - 10), "drug",
                                                     c->lines[l][0]));
            }
        }
        json_array_append_new(lines, t);
        day += len + 14;
    }
    json_object_set_new(rec, "drug_therapies", lines);
    if (stage4 && pick(&r, 3) == 0 && c->met_topo)
        json_object_set_new(rec, "radiotherapies",
                            json_pack("[{s:o,s:o,s:{s:s},s:i,s:i,s:s}]", "start_date",
                                      date_j(dx + 15), "end_date", date_j(dx + 29), "site",
                                      "icdo3_topography", c->met_topo, "dose_gy", 30,
                                      "fractions", 10, "intent", "palliative"));
    if (pick(&r, 3) == 0) {
        json_t *rec1 = json_pack("{s:s,s:b,s:b}", "treatment", c->lines[nlines > 2 ? 2 : 1][0]
                                                                   ? c->lines[nlines > 2 ? 2 : 1][0]
                                                                   : c->lines[0][0],
                                 "given", pick(&r, 2), "trial_enrolled", pick(&r, 5) == 0);
        json_object_set_new(rec1, "evidence_level", json_string(pick(&r, 2) ? "B" : "C"));
        json_object_set_new(rec, "expert_panel",
                            json_pack("[{s:s,s:o,s:[o]}]", "id", "ep1", "date", date_j(dx + 45),
                                      "recommendations", rec1));
    }
    json_t *course = json_object();
    if (progressed)
        json_object_set_new(course, "progression_date", date_j(prog_day));
    int fu = day + pick(&r, 60);
    if (fu > 9800)
        fu = 9800 - pick(&r, 30); /* follow-up before the end of 2026-10 */
    if (fu < dx + 1)
        fu = dx + 1;
    dead = stage4 && progressed && pick(&r, 3) == 0;
    json_object_set_new(course, "last_followup_date", date_j(fu));
    json_object_set_new(course, "vital_status", json_string(dead ? "dead" : "alive"));
    if (dead) {
        json_object_set_new(course, "death_date", date_j(fu + 3));
        json_object_set_new(course, "death_cause", json_string("cancer"));
    }
    /* one case in eight lacks follow-up data: incomplete, as real registries are */
    if (pick(&r, 8) == 0) {
        json_object_del(course, "last_followup_date");
        json_object_del(json_object_get(rec, "diagnosis"), "performance_status");
    }
    json_object_set_new(rec, "course", course);
    return rec;
}
