/* One case's genome data as JSON: summary, somatic variants (protein-altering first), SVs,
 * copy-number calls, the germline summary and the registered files. */
#include "variants.h"
#include "files.h"
#include "common/error.h"
#include "store/db.h"

static json_t *rows(sqlite3 *db, const char *sql, int64_t case_no, int limit,
                    const char *const *names, const char *types, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(db, sql, err);
    if (!st)
        return NULL;
    sqlite3_bind_int64(st, 1, case_no);
    sqlite3_bind_int(st, 2, limit);
    json_t *arr = json_array();
    int r;
    while ((r = sqlite3_step(st)) == SQLITE_ROW) {
        json_t *o = json_object();
        for (int i = 0; names[i]; i++) {
            json_t *v;
            if (sqlite3_column_type(st, i) == SQLITE_NULL)
                v = json_null();
            else if (types[i] == 'i')
                v = json_integer(sqlite3_column_int64(st, i));
            else if (types[i] == 'f')
                v = json_real(sqlite3_column_double(st, i));
            else
                v = json_string(zg_db_text(st, i));
            json_object_set_new(o, names[i], v);
        }
        json_array_append_new(arr, o);
    }
    if (r != SQLITE_DONE) {
        zg_db_fail(db, r, err);
        json_decref(arr);
        arr = NULL;
    }
    zg_db_release(st);
    return arr;
}

json_t *zg_genome_case_json(sqlite3 *db, const char *case_id, int limit, struct zg_error *err)
{
    sqlite3_stmt *st = zg_db_prepare(
        db,
        "SELECT case_no,cancer_type,dataset,callable_mb,n_somatic,n_coding,somatic,germline,"
        "org_id FROM genome_cases WHERE case_id=?",
        err);
    if (!st)
        return NULL;
    sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
    json_t *out;
    int64_t case_no = 0;
    if (sqlite3_step(st) != SQLITE_ROW) {
        /* no calls yet: a case with registered files still has genome data (its files, ready
         * to be imported); case_no 0 names no rows */
        zg_db_release(st);
        st = zg_db_prepare(db, "SELECT org_id FROM genome_files WHERE case_id=? LIMIT 1", err);
        if (!st)
            return NULL;
        sqlite3_bind_text(st, 1, case_id, -1, SQLITE_STATIC);
        if (sqlite3_step(st) != SQLITE_ROW) {
            zg_db_release(st);
            zg_error_set(err, ZG_ENOTFOUND, "id", "this case has no genome data");
            return NULL;
        }
        out = json_pack("{s:s,s:I,s:s,s:s,s:f,s:I,s:I,s:f,s:I}", "case_id", case_id, "case_no",
                        (json_int_t)0, "cancer_type", "UNK", "dataset", "default", "callable_mb",
                        2800.0, "n_somatic", (json_int_t)0, "n_coding", (json_int_t)0, "tmb", 0.0,
                        "org_id", (json_int_t)sqlite3_column_int64(st, 0));
        zg_db_release(st);
    } else {
        case_no = sqlite3_column_int64(st, 0);
        double mb = sqlite3_column_double(st, 3);
        int64_t nsom = sqlite3_column_int64(st, 4);
        out = json_pack(
            "{s:s,s:I,s:s,s:s,s:f,s:I,s:I,s:f,s:I}", "case_id", case_id, "case_no",
            (json_int_t)case_no, "cancer_type", zg_db_text(st, 1), "dataset", zg_db_text(st, 2),
            "callable_mb", mb, "n_somatic", (json_int_t)nsom, "n_coding",
            (json_int_t)sqlite3_column_int64(st, 5), "tmb",
            mb > 0 ? (double)((int64_t)((double)nsom / mb * 100.0 + 0.5)) / 100.0 : 0.0,
            "org_id", (json_int_t)sqlite3_column_int64(st, 8));
        zg_db_release(st);
    }

    static const char *const som_names[] = {"chrom", "pos", "ref", "alt", "gene", "consequence",
                                            "class", "transcript", "hgvsc", "hgvsp", "filter",
                                            "vaf", "depth", "alt_depth", NULL};
    json_t *som = rows(
        db,
        "SELECT t.chrom,t.pos,t.ref,t.alt,t.gene,coalesce(k.text,''),t.class,t.transcript,"
        "t.hgvsc,t.hgvsp,s.filter,s.vaf,s.depth,s.alt_depth FROM genome_somatic s JOIN genome_sites"
        " t USING(site_no) LEFT JOIN genome_terms k ON k.code=t.cons WHERE s.case_no=?1 ORDER BY (t.class IN ('missense','truncating',"
        "'splice','inframe')) DESC, t.gene='' , t.gene, t.pos LIMIT ?2",
        case_no, limit, som_names, "sisssssssssfii", err);
    static const char *const sv_names[] = {"svtype", "chrom", "pos", "chrom2", "pos2", "alt",
                                           "genes", "filter", NULL};
    json_t *sv = som ? rows(db,
                            "SELECT svtype,chrom,pos,chrom2,pos2,alt,genes,filter FROM genome_sv "
                            "WHERE case_no=?1 ORDER BY chrom,pos LIMIT ?2",
                            case_no, limit, sv_names, "ssisisss", err)
                     : NULL;
    static const char *const cnv_names[] = {"chrom", "start", "end", "copy_number", "call",
                                            "genes", NULL};
    json_t *cnv = sv ? rows(db,
                            "SELECT chrom,start,end,copy_number,call,genes FROM genome_cnv WHERE "
                            "case_no=?1 ORDER BY call IN ('amp','del') DESC, chrom, start LIMIT ?2",
                            case_no, limit, cnv_names, "siifss", err)
                     : NULL;
    static const char *const gl_names[] = {"chrom", "pos", "ref", "alt", "gene", "consequence",
                                           "class", "hgvsp", "zygosity", "filter", NULL};
    json_t *gl = cnv ? rows(db,
                            "SELECT t.chrom,t.pos,t.ref,t.alt,t.gene,coalesce(k.text,''),t.class,"
                            "t.hgvsp,g.zygosity,g.filter FROM genome_germline g JOIN genome_sites t"
                            " USING(site_no) LEFT JOIN genome_terms k ON k.code=t.cons"
                            " WHERE g.case_no=?1 ORDER BY t.gene LIMIT ?2",
                            case_no, limit, gl_names, "sissssssss", err)
                     : NULL;
    static const char *const imp_names[] = {"kind", "name", "file_id", "records", "stored",
                                            "germline_summary", "created_at", NULL};
    json_t *imp = gl ? rows(db,
                            "SELECT kind,name,file_id,records,stored,germline_summary,created_at "
                            "FROM genome_imports WHERE case_no=?1 ORDER BY import_no LIMIT ?2",
                            case_no, 1000, imp_names, "sssiisi", err)
                     : NULL;
    json_t *files = imp ? zg_file_list(db, case_id, 0, 1000, err) : NULL;
    if (!files) {
        json_decref(som);
        json_decref(sv);
        json_decref(cnv);
        json_decref(gl);
        json_decref(imp);
        json_decref(out);
        return NULL;
    }
    /* the germline summary is stored as JSON text */
    size_t i;
    json_t *x;
    json_array_foreach(imp, i, x)
    {
        json_t *s = json_object_get(x, "germline_summary");
        if (json_is_string(s))
            json_object_set_new(x, "germline_summary", json_loads(json_string_value(s), 0, NULL));
    }
    json_object_set_new(out, "somatic", som);
    json_object_set_new(out, "sv", sv);
    json_object_set_new(out, "cnv", cnv);
    json_object_set_new(out, "germline", gl);
    json_object_set_new(out, "imports", imp);
    json_object_set_new(out, "files", json_incref(json_object_get(files, "files")));
    json_decref(files);
    return out;
}
