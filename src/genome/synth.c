/* The synthetic cohort generator (see synth.h). Frequencies are rounded from published
 * pan-cancer cohorts (TCGA/ICGC-scale): they make queries look like real data, nothing more. */
#include "synth.h"
#include "files.h"
#include "files_internal.h"
#include "variants.h"
#include "cohort.h"
#include "ids/ids.h"
#include "common/error.h"
#include "common/clock.h"
#include "store/db.h"

#include <math.h>
#include <unistd.h>
#include <htslib/vcf.h>

struct gspan {
    const char *gene, *chrom;
    int64_t start, end;
};

/* GRCh38 gene spans (Ensembl) of the genes the generator uses. */
static const struct gspan spans[] = {
    {"TP53", "17", 7661778, 7687550},
    {"KRAS", "12", 25204788, 25250936},
    {"EGFR", "7", 55019020, 55211628},
    {"STK11", "19", 1177557, 1228435},
    {"KEAP1", "19", 10486119, 10503741},
    {"CDKN2A", "9", 21967752, 21995301},
    {"PIK3CA", "3", 179148113, 179240093},
    {"KMT2D", "12", 49018974, 49059774},
    {"NFE2L2", "2", 177227594, 177392697},
    {"CDH1", "16", 68737224, 68835548},
    {"GATA3", "10", 8053603, 8075198},
    {"ERBB2", "17", 39687913, 39730426},
    {"APC", "5", 112707497, 112846239},
    {"SMAD4", "18", 51028393, 51085045},
    {"BRAF", "7", 140719326, 140924764},
    {"ARID1A", "1", 26693235, 26782104},
    {"NRAS", "1", 114704468, 114716894},
    {"NF1", "17", 31094926, 31382116},
    {"PTEN", "10", 87863112, 87971930},
    {"IDH1", "2", 208236226, 208266074},
    {"CTNNB1", "3", 41194836, 41260096},
    {"ALB", "4", 73397113, 73421412},
    {"SPOP", "17", 49598883, 49678234},
    {"FOXA1", "14", 37589983, 37596059},
    {"PIK3R1", "5", 68215719, 68301821},
    {"KDM6A", "X", 44873176, 45112602},
    {"FGFR3", "4", 1793306, 1808872},
    {"BRCA1", "17", 43044294, 43170245},
    {"BRCA2", "13", 32315473, 32400266},
    {"CCNE1", "19", 29811897, 29824308},
    {"FLT3", "13", 28003273, 28100592},
    {"NPM1", "5", 171387115, 171411137},
    {"DNMT3A", "2", 25227854, 25342590},
    {"IDH2", "15", 90083044, 90102504},
    {"VHL", "3", 10141007, 10152220},
    {"PBRM1", "3", 52545351, 52685917},
    {"SETD2", "3", 47016428, 47163967},
    {"BAP1", "3", 52401012, 52410350},
    {"MYC", "8", 127735433, 127741434},
    {"MDM2", "12", 68808175, 68850686},
    {"ALK", "2", 29192773, 29921566},
    {"EML4", "2", 42169349, 42332548},
    {"TMPRSS2", "21", 41464550, 41531116},
    {"ERG", "21", 38380026, 38661780},
    {"RB1", "13", 48303750, 48481986},
    {"ATM", "11", 108222483, 108369102},
    {"KMT2C", "7", 152134921, 152436005},
    {"FAT1", "4", 186587782, 186726722},
    {"LRP1B", "2", 140231422, 142131701},
    {"TTN", "2", 178525988, 178830802},
    {"MUC16", "19", 8848843, 8981342},
    {"CSMD1", "8", 2935352, 4994972},
    {"SYNE1", "6", 152121683, 152637801},
    {"RYR2", "1", 237042204, 237833988},
    {"OBSCN", "1", 228208129, 228378874},
    {"USH2A", "1", 215622893, 216423396},
    {"ZFHX4", "8", 76681218, 76867285},
    {"FLG", "1", 152302174, 152325203},
    {"DNAH5", "5", 13690330, 13944543},
    {"PCLO", "7", 82754012, 83162930},
    {"HMCN1", "1", 185734550, 186190949},
    {"XIRP2", "2", 166888486, 167259753},
    {"SPTA1", "1", 158610705, 158686698},
    {"CSMD3", "8", 112222927, 113437099},
    {"AHNAK2", "14", 104937243, 104978357},
    {"DNAH11", "7", 21543214, 21901839},
    {"NOTCH1", "9", 136494443, 136545862},
    {"MET", "7", 116672389, 116798386},
    {"ROS1", "6", 117288299, 117425855},
    {"RET", "10", 43077026, 43130351},
    {"KIT", "4", 54657917, 54740715},
    {"PDGFRA", "4", 54229096, 54298247},
    {"FBXW7", "4", 152321258, 152536101},
    {"SMARCA4", "19", 10961000, 11065395},
    {"MAP3K1", "5", 56815573, 56896152},
    {"ESR1", "6", 151656690, 152129619},
    {"AKT1", "14", 104769348, 104795751},
    {"HRAS", "11", 532241, 537287},
    {"CIC", "19", 42268536, 42295797},
    {"TERT", "5", 1253146, 1295069},
    {"ATRX", "X", 77504877, 77786269},
};

/* Passenger genes are drawn from spans[] weighted by length; these are large, often-hit genes. */

enum role { ONC, TSG };

struct hotspot {
    const char *gene, *chrom;
    int64_t pos;
    char ref, alt;
    const char *hgvsp;
    double share; /* fraction of the gene's mutations in this case type at this hotspot */
};

static const struct hotspot hotspots[] = {
    {"KRAS", "12", 25245350, 'C', 'T', "p.Gly12Asp", 0.40},
    {"KRAS", "12", 25245350, 'C', 'A', "p.Gly12Val", 0.30},
    {"KRAS", "12", 25245351, 'C', 'A', "p.Gly12Cys", 0.20},
    {"BRAF", "7", 140753336, 'A', 'T', "p.Val600Glu", 0.90},
    {"PIK3CA", "3", 179234297, 'A', 'G', "p.His1047Arg", 0.35},
    {"PIK3CA", "3", 179218303, 'G', 'A', "p.Glu545Lys", 0.25},
    {"PIK3CA", "3", 179218294, 'G', 'A', "p.Glu542Lys", 0.15},
    {"EGFR", "7", 55191822, 'T', 'G', "p.Leu858Arg", 0.45},
    {"IDH1", "2", 208248388, 'C', 'T', "p.Arg132His", 0.90},
    {"NRAS", "1", 114713908, 'T', 'C', "p.Gln61Arg", 0.45},
    {"NRAS", "1", 114713909, 'G', 'T', "p.Gln61Lys", 0.35},
    {"TP53", "17", 7675088, 'C', 'T', "p.Arg175His", 0.06},
    {"TP53", "17", 7674220, 'C', 'T', "p.Arg248Gln", 0.05},
    {"TP53", "17", 7673802, 'C', 'T', "p.Arg273His", 0.05},
    {"FGFR3", "4", 1801841, 'C', 'G', "p.Ser249Cys", 0.60},
    {"CTNNB1", "3", 41224610, 'C', 'T', "p.Ser45Phe", 0.30},
    {"IDH2", "15", 90088702, 'C', 'T', "p.Arg140Gln", 0.80},
    {"AKT1", "14", 104780214, 'C', 'T', "p.Glu17Lys", 0.90},
    {"SPOP", "17", 49619064, 'A', 'C', "p.Phe133Val", 0.30},
};

struct driver {
    const char *gene;
    double freq;      /* fraction of cases with a small-variant driver */
    enum role role;
};

struct cna {
    const char *gene;
    double freq;
    bool amp;
};

struct fusion {
    const char *a, *b;
    double freq;
};

struct ctype {
    const char *code;
    double weight;      /* share of the cohort */
    double tmb_median;  /* coding mutations per Mb */
    double hyper_frac;  /* fraction of hypermutated (MSI/POLE-like) cases */
    struct driver drivers[10];
    struct cna cnas[4];
    struct fusion fusions[2];
};

static const struct ctype types[] = {
    {"COAD", 0.15, 3.0, 0.12,
     {{"APC", 0.75, TSG}, {"TP53", 0.55, TSG}, {"KRAS", 0.43, ONC}, {"PIK3CA", 0.20, ONC},
      {"SMAD4", 0.13, TSG}, {"BRAF", 0.10, ONC}, {"FBXW7", 0.11, TSG}, {"ATM", 0.08, TSG}},
     {{"MYC", 0.08, true}},
     {{NULL, NULL, 0}}},
    {"STAD", 0.13, 4.0, 0.15,
     {{"TP53", 0.45, TSG}, {"ARID1A", 0.25, TSG}, {"PIK3CA", 0.15, ONC}, {"CDH1", 0.10, TSG},
      {"KRAS", 0.08, ONC}, {"RHOA", 0.0, ONC}, {"APC", 0.08, TSG}},
     {{"ERBB2", 0.12, true}, {"CCNE1", 0.08, true}, {"MYC", 0.06, true}},
     {{NULL, NULL, 0}}},
    {"LUAD", 0.12, 6.0, 0.0,
     {{"TP53", 0.46, TSG}, {"KRAS", 0.30, ONC}, {"EGFR", 0.14, ONC}, {"STK11", 0.17, TSG},
      {"KEAP1", 0.17, TSG}, {"NF1", 0.11, TSG}, {"BRAF", 0.07, ONC}, {"SMARCA4", 0.08, TSG},
      {"MET", 0.04, ONC}},
     {{"CDKN2A", 0.20, false}, {"MDM2", 0.06, true}},
     {{"EML4", "ALK", 0.04}, {NULL, NULL, 0}}},
    {"BRCA", 0.12, 1.5, 0.0,
     {{"PIK3CA", 0.35, ONC}, {"TP53", 0.33, TSG}, {"CDH1", 0.12, TSG}, {"GATA3", 0.12, TSG},
      {"MAP3K1", 0.08, TSG}, {"KMT2C", 0.08, TSG}, {"AKT1", 0.03, ONC}, {"PTEN", 0.05, TSG},
      {"ESR1", 0.02, ONC}},
     {{"ERBB2", 0.13, true}, {"MYC", 0.12, true}, {"CCNE1", 0.04, true}},
     {{NULL, NULL, 0}}},
    {"PRAD", 0.08, 0.8, 0.0,
     {{"SPOP", 0.11, ONC}, {"TP53", 0.12, TSG}, {"FOXA1", 0.08, ONC}, {"ATM", 0.05, TSG},
      {"KMT2C", 0.05, TSG}},
     {{"PTEN", 0.15, false}, {"MYC", 0.08, true}},
     {{"TMPRSS2", "ERG", 0.40}, {NULL, NULL, 0}}},
    {"LUSC", 0.05, 8.0, 0.0,
     {{"TP53", 0.80, TSG}, {"KMT2D", 0.20, TSG}, {"PIK3CA", 0.15, ONC}, {"NFE2L2", 0.15, ONC},
      {"KEAP1", 0.12, TSG}, {"NOTCH1", 0.08, TSG}, {"RB1", 0.07, TSG}},
     {{"CDKN2A", 0.30, false}, {"MYC", 0.10, true}},
     {{NULL, NULL, 0}}},
    {"PAAD", 0.05, 1.0, 0.0,
     {{"KRAS", 0.92, ONC}, {"TP53", 0.70, TSG}, {"SMAD4", 0.20, TSG}, {"ARID1A", 0.07, TSG},
      {"BRCA2", 0.04, TSG}},
     {{"CDKN2A", 0.30, false}},
     {{NULL, NULL, 0}}},
    {"HCC", 0.05, 2.5, 0.0,
     {{"TP53", 0.30, TSG}, {"CTNNB1", 0.27, ONC}, {"ALB", 0.10, TSG}, {"ARID1A", 0.10, TSG},
      {"AXIN1", 0.0, TSG}, {"TERT", 0.05, ONC}},
     {{"MYC", 0.05, true}, {"CDKN2A", 0.05, false}},
     {{NULL, NULL, 0}}},
    {"SKCM", 0.02, 15.0, 0.0,
     {{"BRAF", 0.50, ONC}, {"NRAS", 0.25, ONC}, {"NF1", 0.14, TSG}, {"TP53", 0.15, TSG},
      {"KIT", 0.03, ONC}},
     {{"CDKN2A", 0.30, false}, {"MYC", 0.05, true}},
     {{NULL, NULL, 0}}},
    {"GBM", 0.02, 1.5, 0.0,
     {{"PTEN", 0.30, TSG}, {"TP53", 0.30, TSG}, {"EGFR", 0.25, ONC}, {"NF1", 0.10, TSG},
      {"PIK3CA", 0.08, ONC}, {"IDH1", 0.05, ONC}, {"RB1", 0.08, TSG}, {"ATRX", 0.05, TSG}},
     {{"CDKN2A", 0.50, false}, {"EGFR", 0.40, true}, {"MDM2", 0.08, true}},
     {{NULL, NULL, 0}}},
    {"UCEC", 0.05, 4.0, 0.30,
     {{"PTEN", 0.60, TSG}, {"PIK3CA", 0.50, ONC}, {"ARID1A", 0.40, TSG}, {"TP53", 0.30, TSG},
      {"PIK3R1", 0.30, TSG}, {"KRAS", 0.20, ONC}, {"CTNNB1", 0.15, ONC}, {"FBXW7", 0.12, TSG}},
     {{"CCNE1", 0.05, true}},
     {{NULL, NULL, 0}}},
    {"BLCA", 0.04, 7.0, 0.0,
     {{"TP53", 0.48, TSG}, {"KDM6A", 0.25, TSG}, {"ARID1A", 0.25, TSG}, {"PIK3CA", 0.20, ONC},
      {"FGFR3", 0.14, ONC}, {"KMT2D", 0.28, TSG}, {"RB1", 0.13, TSG}},
     {{"CDKN2A", 0.25, false}, {"ERBB2", 0.07, true}},
     {{NULL, NULL, 0}}},
    {"HGSOC", 0.03, 1.5, 0.0,
     {{"TP53", 0.95, TSG}, {"BRCA1", 0.07, TSG}, {"BRCA2", 0.06, TSG}, {"NF1", 0.04, TSG},
      {"RB1", 0.02, TSG}},
     {{"CCNE1", 0.20, true}, {"MYC", 0.25, true}},
     {{NULL, NULL, 0}}},
    {"AML", 0.02, 0.4, 0.0,
     {{"FLT3", 0.28, ONC}, {"NPM1", 0.27, ONC}, {"DNMT3A", 0.25, TSG}, {"IDH2", 0.10, ONC},
      {"IDH1", 0.09, ONC}, {"NRAS", 0.08, ONC}, {"TP53", 0.08, TSG}},
     {{NULL, 0, false}},
     {{NULL, NULL, 0}}},
    {"THPA", 0.04, 0.3, 0.0,
     {{"BRAF", 0.60, ONC}, {"NRAS", 0.08, ONC}, {"HRAS", 0.04, ONC}},
     {{NULL, 0, false}},
     {{NULL, "RET", 0.0}}},
    {"CCRCC", 0.03, 1.2, 0.0,
     {{"VHL", 0.50, TSG}, {"PBRM1", 0.40, TSG}, {"SETD2", 0.12, TSG}, {"BAP1", 0.10, TSG},
      {"PTEN", 0.04, TSG}},
     {{"CDKN2A", 0.10, false}},
     {{NULL, NULL, 0}}},
};

static const char *ct_codes[ZG_ARRAY_LEN(types)];

size_t zg_synth_cancer_types(const char ***codes)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(types); i++)
        ct_codes[i] = types[i].code;
    *codes = ct_codes;
    return ZG_ARRAY_LEN(types);
}

/* --- random numbers (xorshift64*) ---------------------------------------------------------- */

struct rng {
    uint64_t s;
};

static uint64_t rnext(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

static double runif(struct rng *r)
{
    return (double)(rnext(r) >> 11) / 9007199254740992.0;
}

static double rnorm(struct rng *r)
{
    double u = runif(r), v = runif(r);
    if (u < 1e-300)
        u = 1e-300;
    return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

static const struct gspan *span_of(const char *gene)
{
    for (size_t i = 0; i < ZG_ARRAY_LEN(spans); i++)
        if (!strcmp(spans[i].gene, gene))
            return &spans[i];
    return NULL;
}

/* --- one case's variants --------------------------------------------------------------------- */

struct var {
    int chrom_rank;
    int64_t pos;
    char ref[8], alt[8];
    const char *gene, *cons, *impact;
    char hgvsp[40], hgvsc[48];
    double vaf;
    int depth;
};

static const char *const chroms[] = {"1",  "2",  "3",  "4",  "5",  "6",  "7",  "8",
                                     "9",  "10", "11", "12", "13", "14", "15", "16",
                                     "17", "18", "19", "20", "21", "22", "X",  "Y"};
static const int64_t chrom_len[] = {248956422, 242193529, 198295559, 190214555, 181538259,
                                    170805979, 159345973, 145138636, 138394717, 133797422,
                                    135086622, 133275309, 114364328, 107043718, 101991189,
                                    90338345,  83257441,  80373285,  58617616,  64444167,
                                    46709983,  50818468,  156040895, 57227415};

static int chrom_rank(const char *c)
{
    for (int i = 0; i < 24; i++)
        if (!strcmp(chroms[i], c))
            return i;
    return 23;
}

static const char *const aa3[] = {"Ala", "Arg", "Asn", "Asp", "Cys", "Gln", "Glu", "Gly", "His", "Ile",
                                  "Leu", "Lys", "Met", "Phe", "Pro", "Ser", "Thr", "Trp", "Tyr", "Val"};

static char other_base(struct rng *r, char b)
{
    static const char acgt[] = "ACGT";
    char x;
    do
        x = acgt[rnext(r) % 4];
    while (x == b);
    return x;
}

enum mkind { MK_MISSENSE, MK_NONSENSE, MK_FRAMESHIFT_DEL, MK_FRAMESHIFT_INS, MK_SPLICE,
             MK_INFRAME, MK_SYNONYMOUS };

static void make_var(struct rng *r, const struct gspan *g, enum mkind k, double purity,
                     struct var *v)
{
    static const char acgt[] = "ACGT";
    memset(v, 0, sizeof(*v));
    v->chrom_rank = chrom_rank(g->chrom);
    v->pos = g->start + (int64_t)(runif(r) * (double)(g->end - g->start));
    v->gene = g->gene;
    char b = acgt[rnext(r) % 4];
    int64_t aapos = 1 + (v->pos - g->start) / 30 % 1500;
    const char *from = aa3[rnext(r) % 20], *to = aa3[rnext(r) % 20];
    v->ref[0] = b;
    v->alt[0] = other_base(r, b);
    switch (k) {
    case MK_MISSENSE:
        v->cons = "missense_variant", v->impact = "MODERATE";
        if (!strcmp(from, to))
            to = from == aa3[0] ? aa3[1] : aa3[0];
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%lld%s", from, (long long)aapos, to);
        break;
    case MK_NONSENSE:
        v->cons = "stop_gained", v->impact = "HIGH";
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%lldTer", from, (long long)aapos);
        break;
    case MK_FRAMESHIFT_DEL:
        v->cons = "frameshift_variant", v->impact = "HIGH";
        v->ref[1] = acgt[rnext(r) % 4];
        v->alt[0] = b;
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%lldfs", from, (long long)aapos);
        break;
    case MK_FRAMESHIFT_INS:
        v->cons = "frameshift_variant", v->impact = "HIGH";
        v->alt[0] = b;
        v->alt[1] = acgt[rnext(r) % 4];
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%lldfs", from, (long long)aapos);
        break;
    case MK_SPLICE:
        v->cons = rnext(r) % 2 ? "splice_donor_variant" : "splice_acceptor_variant";
        v->impact = "HIGH";
        break;
    case MK_INFRAME:
        v->cons = "inframe_deletion", v->impact = "MODERATE";
        for (int i = 1; i < 4; i++)
            v->ref[i] = acgt[rnext(r) % 4];
        v->alt[0] = b;
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%llddel", from, (long long)aapos);
        break;
    case MK_SYNONYMOUS:
        v->cons = "synonymous_variant", v->impact = "LOW";
        snprintf(v->hgvsp, sizeof(v->hgvsp), "p.%s%lld=", from, (long long)aapos);
        break;
    }
    snprintf(v->hgvsc, sizeof(v->hgvsc), "c.%lld%c>%c", (long long)(aapos * 3),
             v->ref[0], v->alt[0]);
    double vaf = purity * 0.5 * (0.6 + 0.8 * runif(r));
    v->depth = 40 + (int)(runif(r) * 80);
    v->vaf = vaf < 0.03 ? 0.03 : vaf > 0.95 ? 0.95 : vaf;
}

static enum mkind tsg_kind(struct rng *r, const char *gene)
{
    double u = runif(r);
    if (!strcmp(gene, "TP53"))
        return u < 0.72 ? MK_MISSENSE : u < 0.84 ? MK_NONSENSE : u < 0.94 ? MK_FRAMESHIFT_DEL : MK_SPLICE;
    if (!strcmp(gene, "APC"))
        return u < 0.1 ? MK_MISSENSE : u < 0.6 ? MK_NONSENSE : MK_FRAMESHIFT_DEL;
    return u < 0.3 ? MK_MISSENSE : u < 0.55 ? MK_NONSENSE : u < 0.75 ? MK_FRAMESHIFT_DEL
           : u < 0.88 ? MK_FRAMESHIFT_INS : u < 0.95 ? MK_SPLICE : MK_INFRAME;
}

static int var_cmp(const void *a, const void *b)
{
    const struct var *x = a, *y = b;
    if (x->chrom_rank != y->chrom_rank)
        return x->chrom_rank - y->chrom_rank;
    return (x->pos > y->pos) - (x->pos < y->pos);
}

/* --- writing VCFs with htslib ---------------------------------------------------------------- */

static bcf_hdr_t *new_header(bool somatic)
{
    bcf_hdr_t *h = bcf_hdr_init("w");
    if (!h)
        return NULL;
    char line[160];
    bcf_hdr_append(h, "##reference=GRCh38");
    bcf_hdr_append(h, "##source=zengen-synth (synthetic data)");
    for (int i = 0; i < 24; i++) {
        snprintf(line, sizeof(line), "##contig=<ID=%s,length=%lld,assembly=GRCh38>", chroms[i],
                 (long long)chrom_len[i]);
        bcf_hdr_append(h, line);
    }
    bcf_hdr_append(h, "##FORMAT=<ID=GT,Number=1,Type=String,Description=\"Genotype\">");
    if (somatic) {
        bcf_hdr_append(h, "##tumor_sample=TUMOR");
        bcf_hdr_append(h, "##normal_sample=NORMAL");
        bcf_hdr_append(h, "##INFO=<ID=CSQ,Number=.,Type=String,Description=\"Consequence "
                          "annotations from Ensembl VEP. Format: Allele|Consequence|IMPACT|SYMBOL|"
                          "Gene|Feature_type|Feature|BIOTYPE|HGVSc|HGVSp|CANONICAL\">");
        bcf_hdr_append(h, "##FORMAT=<ID=AD,Number=R,Type=Integer,Description=\"Allelic depths\">");
        bcf_hdr_append(h, "##FORMAT=<ID=DP,Number=1,Type=Integer,Description=\"Depth\">");
        bcf_hdr_append(h, "##FORMAT=<ID=AF,Number=A,Type=Float,Description=\"Allele fraction\">");
        bcf_hdr_add_sample(h, "NORMAL");
    } else {
        bcf_hdr_append(h, "##INFO=<ID=END,Number=1,Type=Integer,Description=\"End position\">");
        bcf_hdr_append(h, "##INFO=<ID=SVTYPE,Number=1,Type=String,Description=\"SV type\">");
        bcf_hdr_append(h, "##INFO=<ID=CN,Number=1,Type=Integer,Description=\"Copy number\">");
        bcf_hdr_append(h, "##INFO=<ID=GENE,Number=1,Type=String,Description=\"Genes\">");
        bcf_hdr_append(h, "##ALT=<ID=DEL,Description=\"Deletion\">");
        bcf_hdr_append(h, "##ALT=<ID=DUP,Description=\"Duplication\">");
    }
    bcf_hdr_add_sample(h, "TUMOR");
    if (bcf_hdr_sync(h) < 0) {
        bcf_hdr_destroy(h);
        return NULL;
    }
    return h;
}

static int write_somatic(const char *path, struct var *v, size_t n, struct zg_error *err)
{
    htsFile *fp = hts_open(path, "wz");
    bcf_hdr_t *h = new_header(true);
    bcf1_t *rec = bcf_init();
    int rc = 0;
    if (!fp || !h || !rec || bcf_hdr_write(fp, h) < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
        goto out;
    }
    int pass = bcf_hdr_id2int(h, BCF_DT_ID, "PASS");
    char alleles[32], csq[320];
    for (size_t i = 0; i < n; i++) {
        if (i && v[i].chrom_rank == v[i - 1].chrom_rank && v[i].pos <= v[i - 1].pos + 4)
            continue; /* keep records apart */
        bcf_clear(rec);
        rec->rid = bcf_hdr_name2id(h, chroms[v[i].chrom_rank]);
        rec->pos = v[i].pos - 1;
        snprintf(alleles, sizeof(alleles), "%s,%s", v[i].ref, v[i].alt);
        bcf_update_alleles_str(h, rec, alleles);
        bcf_update_filter(h, rec, &pass, 1);
        /* VEP writes indel alleles without the shared first base, "-" when empty */
        const char *vep = v[i].alt;
        if (strlen(v[i].ref) != strlen(v[i].alt))
            vep = v[i].alt[1] ? v[i].alt + 1 : "-";
        snprintf(csq, sizeof(csq), "%s|%s|%s|%s|ENSG_%s|Transcript|ENST_%s|protein_coding|%s|%s|YES",
                 vep, v[i].cons, v[i].impact, v[i].gene, v[i].gene, v[i].gene, v[i].hgvsc,
                 v[i].hgvsp);
        bcf_update_info_string(h, rec, "CSQ", csq);
        int32_t gt[4] = {bcf_gt_unphased(0), bcf_gt_unphased(0), bcf_gt_unphased(0),
                         bcf_gt_unphased(1)};
        int altc = (int)lround(v[i].vaf * v[i].depth);
        if (altc < 1)
            altc = 1;
        int32_t ad[4] = {v[i].depth / 2 + 10, 0, v[i].depth - altc, altc};
        int32_t dp[2] = {ad[0], v[i].depth};
        float af[2] = {0.0f, (float)altc / (float)v[i].depth};
        bcf_update_genotypes(h, rec, gt, 4);
        bcf_update_format_int32(h, rec, "AD", ad, 4);
        bcf_update_format_int32(h, rec, "DP", dp, 2);
        bcf_update_format_float(h, rec, "AF", af, 2);
        if (bcf_write(fp, h, rec) < 0) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
            goto out;
        }
    }
out:
    bcf_destroy(rec);
    if (h)
        bcf_hdr_destroy(h);
    if (fp && hts_close(fp) != 0 && !rc)
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    return rc;
}

struct sv_or_cn {
    const struct gspan *g, *g2; /* g2: fusion partner */
    bool amp;
};

static int sv_cmp(const void *a, const void *b)
{
    const struct sv_or_cn *x = a, *y = b;
    int rx = chrom_rank(x->g->chrom), ry = chrom_rank(y->g->chrom);
    if (rx != ry)
        return rx - ry;
    return (x->g->start > y->g->start) - (x->g->start < y->g->start);
}

/* CNV (g2 NULL) or SV (fusions) file of one case. */
static int write_struct(const char *path, struct sv_or_cn *e, size_t n, bool sv,
                        struct zg_error *err)
{
    qsort(e, n, sizeof(*e), sv_cmp);
    htsFile *fp = hts_open(path, "wz");
    bcf_hdr_t *h = new_header(false);
    bcf1_t *rec = bcf_init();
    int rc = 0;
    if (!fp || !h || !rec || bcf_hdr_write(fp, h) < 0) {
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
        goto out;
    }
    int pass = bcf_hdr_id2int(h, BCF_DT_ID, "PASS");
    char alleles[96];
    for (size_t i = 0; i < n; i++) {
        bcf_clear(rec);
        rec->rid = bcf_hdr_name2id(h, e[i].g->chrom);
        bcf_update_filter(h, rec, &pass, 1);
        if (sv) {
            int64_t p1 = (e[i].g->start + e[i].g->end) / 2, p2 = (e[i].g2->start + e[i].g2->end) / 2;
            rec->pos = p1 - 1;
            snprintf(alleles, sizeof(alleles), "N,N[%s:%lld[", e[i].g2->chrom, (long long)p2);
            bcf_update_alleles_str(h, rec, alleles);
            bcf_update_info_string(h, rec, "SVTYPE", "BND");
        } else {
            rec->pos = e[i].g->start - 1;
            bcf_update_alleles_str(h, rec, e[i].amp ? "N,<DUP>" : "N,<DEL>");
            int32_t end = (int32_t)e[i].g->end, cn = e[i].amp ? 8 : 0;
            bcf_update_info_int32(h, rec, "END", &end, 1);
            bcf_update_info_string(h, rec, "SVTYPE", e[i].amp ? "DUP" : "DEL");
            bcf_update_info_int32(h, rec, "CN", &cn, 1);
            bcf_update_info_string(h, rec, "GENE", e[i].g->gene);
        }
        int32_t gt[1] = {bcf_gt_unphased(1)};
        bcf_update_genotypes(h, rec, gt, 1);
        if (bcf_write(fp, h, rec) < 0) {
            rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
            goto out;
        }
    }
out:
    bcf_destroy(rec);
    if (h)
        bcf_hdr_destroy(h);
    if (fp && hts_close(fp) != 0 && !rc)
        rc = zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    return rc;
}

/* --- the generator --------------------------------------------------------------------------- */

struct gen {
    const struct zg_datadir *dd;
    sqlite3 *db;
    struct rng r;
    double cum_len[ZG_ARRAY_LEN(spans)];
    struct var *vars;
    size_t cap;
    const struct zg_gene_model *genes;
    const struct zg_gene_model *bg; /* the site's gene model for passengers (may be NULL) */
    char dir[1024];
    const char *dataset;
    struct zg_synth_stats *st;
};

static const struct ctype *pick_type(struct rng *r)
{
    double total = 0;
    for (size_t i = 0; i < ZG_ARRAY_LEN(types); i++)
        total += types[i].weight;
    double u = runif(r) * total;
    for (size_t i = 0; i < ZG_ARRAY_LEN(types); i++) {
        if (u < types[i].weight)
            return &types[i];
        u -= types[i].weight;
    }
    return &types[0];
}

/* Approximate coding length (bases) of a listed gene: passengers hit genes in proportion to it
 * (the exome being ~38 Mb), which is why TTN or MUC16 look "frequently mutated". */
static double cds_len(const char *gene)
{
    static const struct {
        const char *g;
        double len;
    } big[] = {{"TTN", 100000}, {"MUC16", 43000}, {"SYNE1", 26000}, {"OBSCN", 24000},
               {"KMT2D", 17000}, {"HMCN1", 17000}, {"AHNAK2", 17000}, {"RYR2", 15000},
               {"USH2A", 15000}, {"PCLO", 15000},  {"KMT2C", 15000},  {"LRP1B", 14000},
               {"DNAH5", 14000}, {"FAT1", 14000},  {"DNAH11", 13000}, {"FLG", 12000},
               {"CSMD3", 11000}, {"ZFHX4", 11000}, {"CSMD1", 10000},  {"XIRP2", 10000},
               {"BRCA2", 10000}, {"ATM", 9000},    {"APC", 8500},     {"NF1", 8500},
               {"SPTA1", 7000}};
    for (size_t i = 0; i < ZG_ARRAY_LEN(big); i++)
        if (!strcmp(big[i].g, gene))
            return big[i].len;
    return 2500;
}

#define EXOME_BASES 38.0e6

/* A passenger: in a listed gene with probability cds/exome, else anywhere in the genome, named
 * by the site's gene model when there is one (else intergenic). */
static void passenger(struct gen *g, enum mkind k, double purity, struct var *v)
{
    double u = runif(&g->r) * EXOME_BASES;
    size_t n = ZG_ARRAY_LEN(spans);
    if (u < g->cum_len[n - 1]) {
        size_t lo = 0, hi = n - 1;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            if (g->cum_len[mid] < u)
                lo = mid + 1;
            else
                hi = mid;
        }
        make_var(&g->r, &spans[lo], k, purity, v);
        return;
    }
    double x = runif(&g->r) * 3.088e9;
    int c = 0;
    while (c < 23 && x >= (double)chrom_len[c])
        x -= (double)chrom_len[c++];
    int64_t pos = 1 + (int64_t)x;
    const char *names[1];
    size_t hit = zg_gene_model_overlaps(g->bg, chroms[c], pos, pos, names, 1);
    struct gspan one = {hit ? names[0] : "", chroms[c], pos, pos + 1};
    make_var(&g->r, &one, hit ? k : MK_SYNONYMOUS, purity, v);
    v->pos = pos;
    if (!hit) {
        v->gene = "";
        v->cons = "intergenic_variant";
        v->impact = "MODIFIER";
        v->hgvsp[0] = v->hgvsc[0] = '\0';
    }
}

static int ingest_file(struct gen *g, const char *case_id, const char *tmp, const char *ct,
                       enum zg_variant_kind kind, struct zg_error *err)
{
    struct zg_file_add_opts fo = {.case_id = case_id, .pipeline = "zengen-synth",
                                  .pipeline_version = ZG_VERSION,
                                  .data_kind = zg_variant_kind_name(kind), .move = true};
    struct zg_file_info fi;
    int rc = zg_file_add(g->dd, g->db, tmp, &fo, &fi, err);
    if (rc) {
        unlink(tmp); /* a failed registration leaves its source in place */
        return rc;
    }
    struct zg_import_opts io = {.case_id = case_id, .kind = kind, .cancer_type = ct,
                                .dataset = g->dataset, .callable_mb = 38.0, .genes = g->genes,
                                .file_id = fi.id, .in_transaction = true};
    struct zg_import_result res;
    if ((rc = zg_variant_import(g->dd, g->db, fi.path, &io, &res, err)))
        return rc;
    g->st->variants += res.stored;
    g->st->files++;
    return 0;
}

/* Profile for a cancer type known elsewhere but not listed above. */
static struct ctype generic = {
    NULL, 0.0, 2.0, 0.0,
    {{"TP53", 0.35, TSG}, {"KRAS", 0.10, ONC}, {"PIK3CA", 0.10, ONC}, {"ARID1A", 0.08, TSG},
     {"PTEN", 0.05, TSG}},
    {{"CDKN2A", 0.08, false}, {"MYC", 0.05, true}},
    {{NULL, NULL, 0}}};

static int one_case(struct gen *g, const struct zg_synth_opts *o, const char *case_id,
                    struct zg_error *err)
{
    const struct ctype *t = pick_type(&g->r);
    const char *known = o->cancer_type_of ? o->cancer_type_of(o->cancer_type_ctx, case_id) : NULL;
    struct ctype custom;
    if (known && *known) {
        const struct ctype *hit = NULL;
        for (size_t i = 0; i < ZG_ARRAY_LEN(types) && !hit; i++)
            if (!strcmp(types[i].code, known))
                hit = &types[i];
        if (!hit) {
            custom = generic;
            custom.code = known;
            hit = &custom;
        }
        t = hit;
    }
    double purity = 0.3 + 0.6 * runif(&g->r);
    double tmb = t->tmb_median * exp(0.8 * rnorm(&g->r));
    if (t->hyper_frac > 0 && runif(&g->r) < t->hyper_frac)
        tmb *= 8.0 + 6.0 * runif(&g->r);
    size_t npass = (size_t)lround(tmb * 38.0);
    if (npass > 4000)
        npass = 4000;
    size_t need = npass + 40;
    if (need > g->cap) {
        struct var *p = realloc(g->vars, need * sizeof(*p));
        if (!p)
            return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
        g->vars = p;
        g->cap = need;
    }
    size_t n = 0;
    for (size_t d = 0; d < ZG_ARRAY_LEN(t->drivers) && t->drivers[d].gene; d++) {
        const struct driver *dr = &t->drivers[d];
        const struct gspan *gs = span_of(dr->gene);
        if (!gs || runif(&g->r) >= dr->freq)
            continue;
        int hits = dr->role == TSG && runif(&g->r) < 0.2 ? 2 : 1;
        for (int h = 0; h < hits; h++) {
            struct var *v = &g->vars[n];
            if (dr->role == ONC) {
                double u = runif(&g->r);
                const struct hotspot *hs = NULL;
                for (size_t k = 0; k < ZG_ARRAY_LEN(hotspots) && !hs; k++) {
                    if (strcmp(hotspots[k].gene, dr->gene))
                        continue;
                    if (u < hotspots[k].share)
                        hs = &hotspots[k];
                    else
                        u -= hotspots[k].share;
                }
                make_var(&g->r, gs, MK_MISSENSE, purity, v);
                if (hs) {
                    v->pos = hs->pos;
                    v->ref[0] = hs->ref;
                    v->alt[0] = hs->alt;
                    snprintf(v->hgvsp, sizeof(v->hgvsp), "%s", hs->hgvsp);
                } else if (!strcmp(dr->gene, "FLT3") || !strcmp(dr->gene, "NPM1")) {
                    make_var(&g->r, gs, !strcmp(dr->gene, "NPM1") ? MK_FRAMESHIFT_INS : MK_INFRAME,
                             purity, v);
                }
            } else {
                make_var(&g->r, gs, tsg_kind(&g->r, dr->gene), purity, v);
            }
            n++;
        }
    }
    for (size_t i = 0; i < npass; i++) {
        double u = runif(&g->r);
        enum mkind k = u < 0.62 ? MK_MISSENSE : u < 0.87 ? MK_SYNONYMOUS : u < 0.92 ? MK_NONSENSE
                       : u < 0.95 ? MK_FRAMESHIFT_DEL : u < 0.97 ? MK_FRAMESHIFT_INS : MK_SPLICE;
        passenger(g, k, purity, &g->vars[n++]);
    }
    qsort(g->vars, n, sizeof(*g->vars), var_cmp);
    char path[1200];
    snprintf(path, sizeof(path), "%s/%s.somatic.vcf.gz", g->dir, case_id);
    int rc = write_somatic(path, g->vars, n, err);
    if (!rc)
        rc = ingest_file(g, case_id, path, t->code, ZG_VK_SOMATIC, err);
    if (rc) {
        unlink(path);
        return rc;
    }
    struct sv_or_cn e[8];
    size_t ne = 0;
    for (size_t k = 0; k < ZG_ARRAY_LEN(t->cnas) && t->cnas[k].gene && ne < 8; k++)
        if (runif(&g->r) < t->cnas[k].freq && span_of(t->cnas[k].gene))
            e[ne++] = (struct sv_or_cn){span_of(t->cnas[k].gene), NULL, t->cnas[k].amp};
    /* copy-number calls come with every WGS case; a file only when there is a call */
    snprintf(path, sizeof(path), "%s/%s.cnv.vcf.gz", g->dir, case_id);
    if (ne && ((rc = write_struct(path, e, ne, false, err)) ||
               (rc = ingest_file(g, case_id, path, NULL, ZG_VK_CNV, err)))) {
        unlink(path);
        return rc;
    }
    ne = 0;
    for (size_t k = 0; k < ZG_ARRAY_LEN(t->fusions) && t->fusions[k].a; k++)
        if (runif(&g->r) < t->fusions[k].freq && span_of(t->fusions[k].a) &&
            span_of(t->fusions[k].b))
            e[ne++] = (struct sv_or_cn){span_of(t->fusions[k].a), span_of(t->fusions[k].b), false};
    if (ne) {
        snprintf(path, sizeof(path), "%s/%s.sv.vcf.gz", g->dir, case_id);
        if ((rc = write_struct(path, e, ne, true, err)) ||
            (rc = ingest_file(g, case_id, path, NULL, ZG_VK_SV, err))) {
            unlink(path);
            return rc;
        }
    }
    if (o->on_case && (rc = o->on_case(o->on_case_ctx, g->db, case_id, t->code, rnext(&g->r), err)))
        return rc;
    g->st->cases++;
    return 0;
}

static int write_model(const char *path, struct zg_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return zg_error_set(err, ZG_EIO, "", "cannot write %s", path);
    for (size_t i = 0; i < ZG_ARRAY_LEN(spans); i++)
        fprintf(f, "%s\t%lld\t%lld\t%s\n", spans[i].chrom, (long long)spans[i].start - 1,
                (long long)spans[i].end, spans[i].gene);
    return fclose(f) ? zg_error_set(err, ZG_EIO, "", "cannot write %s", path) : 0;
}

int zg_synth_cohort(const struct zg_datadir *dd, sqlite3 *db, const struct zg_synth_opts *o,
                    struct zg_synth_stats *st, struct zg_error *err)
{
    int64_t t0 = zg_clock_mono_ms();
    memset(st, 0, sizeof(*st));
    struct gen *g = calloc(1, sizeof(*g));
    if (!g)
        return zg_error_set(err, ZG_ENOMEM, "", "out of memory");
    g->dd = dd;
    g->db = db;
    g->r.s = o->seed ? o->seed * 0x9E3779B97F4A7C15ULL : 0x5EED5EED5EEDULL;
    g->dataset = o->dataset ? o->dataset : "synthetic";
    g->st = st;
    double acc = 0;
    for (size_t i = 0; i < ZG_ARRAY_LEN(spans); i++) {
        acc += cds_len(spans[i].gene);
        g->cum_len[i] = acc;
    }
    struct zg_gene_model *model = NULL, *bgmodel = NULL;
    char **ids = NULL;
    int nids = 0, rc;
    zg_datadir_file(dd, "files/synth", g->dir, sizeof(g->dir));
    char bed[1200];
    snprintf(bed, sizeof(bed), "%s/genes.bed", g->dir);
    if ((rc = zg_genome_mkdirs(g->dir, err)) || (rc = write_model(bed, err)) ||
        (rc = zg_gene_model_load(bed, &model, err)))
        goto out;
    g->genes = model;
    char bgpath[1024];
    if (zg_gene_model_default_path(dd, bgpath, sizeof(bgpath)) &&
        (rc = zg_gene_model_load(bgpath, &bgmodel, err)))
        goto out;
    g->bg = bgmodel;
    int batch = o->batch > 0 ? o->batch : 250;
    /* bulk generation: commits need not wait for the disk one by one (WAL stays consistent;
     * the final rebuild and the restored setting make the end state durable) */
    if ((rc = zg_db_exec(db, "PRAGMA synchronous=NORMAL", err)))
        goto out;
    if (o->use_existing) {
        sqlite3_stmt *q = zg_db_prepare(
            db,
            "SELECT id FROM cases WHERE id NOT IN (SELECT case_id FROM genome_cases) ORDER BY id",
            err);
        if (!q) {
            rc = err->code;
            goto out;
        }
        int cap = 0;
        while (sqlite3_step(q) == SQLITE_ROW) {
            if (nids == cap) {
                cap = cap ? cap * 2 : 64;
                char **p = realloc(ids, (size_t)cap * sizeof(*p));
                if (!p)
                    break;
                ids = p;
            }
            ids[nids++] = strdup(zg_db_text(q, 0));
        }
        zg_db_release(q);
    } else if (o->ncases < 1 || o->ncases > 1000000) {
        rc = zg_error_set(err, ZG_EINVAL, "cases", "must be 1..1,000,000");
        goto out;
    }
    int total = o->use_existing ? nids : o->ncases;
    char cid[ZG_ID_LEN];
    for (int done = 0; done < total;) {
        int end = done + batch < total ? done + batch : total;
        /* cases first (each is its own registry transaction), then their genomes in one */
        char (*batch_ids)[ZG_ID_LEN] = malloc((size_t)(end - done) * ZG_ID_LEN);
        if (!batch_ids) {
            rc = zg_error_set(err, ZG_ENOMEM, "", "out of memory");
            goto out;
        }
        for (int i = done; i < end; i++) {
            if (o->use_existing)
                snprintf(cid, sizeof(cid), "%s", ids[i] ? ids[i] : "");
            else if ((rc = zg_case_add(db, o->org_id, NULL, 0, cid, NULL, err))) {
                free(batch_ids);
                goto out;
            }
            memcpy(batch_ids[i - done], cid, ZG_ID_LEN);
        }
        if ((rc = zg_db_begin(db, err))) {
            free(batch_ids);
            goto out;
        }
        for (int i = done; i < end && !rc; i++)
            rc = one_case(g, o, batch_ids[i - done], err);
        free(batch_ids);
        if (rc || (rc = zg_db_commit(db, err))) {
            zg_db_rollback(db);
            goto out;
        }
        done = end;
        if (o->progress)
            o->progress(o->progress_ctx, done, total);
    }
    if ((rc = zg_db_exec(db, "PRAGMA synchronous=FULL; PRAGMA wal_checkpoint(FULL)", err)))
        goto out;
    struct zg_cohort_update_stats us;
    rc = zg_cohort_rebuild(dd, db, &us, err);
out:
    unlink(bed);
    for (int i = 0; i < nids; i++)
        free(ids[i]);
    free(ids);
    zg_gene_model_free(model);
    zg_gene_model_free(bgmodel);
    free(g->vars);
    free(g);
    st->ms = zg_clock_mono_ms() - t0;
    return rc;
}
