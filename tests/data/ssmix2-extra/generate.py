#!/usr/bin/env python3
"""Writes the synthetic SS-MIX2 test messages (every name, address, phone number and ID is
invented): tree/ is a standardised-storage tree of 24 patients with ADT, PPR^ZD1, RDE^O11 and
ORU^R01 messages in ISO-2022-JP; broken/ holds malformed messages for the quarantine; manifest.json
lists what each message must become. Run from this directory: python3 generate.py"""
import json, os, random, shutil

random.seed(20261124)
FAMILY = ["試験", "見本", "仮名", "架空", "模擬", "例示"]
GIVEN = ["花子", "太郎", "一郎", "桜子", "健太", "陽菜"]
KANA_F = ["シケン", "ミホン", "カメイ", "カクウ", "モギ", "レイジ"]
KANA_G = ["ハナコ", "タロウ", "イチロウ", "サクラコ", "ケンタ", "ヒナ"]
CITIES = ["東京都千代田区架空町１−２−３", "大阪府大阪市模擬区見本通４−５", "静岡県静岡市試験台７−８−９"]
CANCERS = [("C18.7", "S状結腸癌", "COAD"), ("C34.1", "右上葉肺腺癌", "LUAD"),
           ("C16.9", "胃癌", "STAD"), ("C50.9", "乳癌", "BRCA")]
DRUGS = [("900000011", "オキサリプラチン点滴静注", "oxaliplatin", "L01XA03"),
         ("900000012", "カペシタビン錠", "capecitabine", "L01BC06"),
         ("900000013", "オシメルチニブ錠", "osimertinib", "L01EB04"),
         ("900000014", "ペムブロリズマブ点滴静注", "pembrolizumab", "L01FF02")]

SEP = "\r"
MSH = "MSH|^~\\&|HIS999|TESTHOSP|GW|RCV|{ts}||{type}|{ctl}|P|2.5||||||~ISO IR87||ISO 2022-1994|SS-MIX2_1.20^SS-MIX2^1.2.392.200250.2.1.100.1.2.120^ISO"

def pid(p):
    return (f"PID|0001||{p['id']}^^^^PI||{p['fam']}^{p['giv']}^^^^^L^I~{p['kf']}^{p['kg']}^^^^^L^P||{p['birth']}|{p['sex']}"
            f"|||^^^^{p['zip']}^JPN^H^{p['addr']}||^PRN^PH^^^^^^^^^{p['tel']}")

def write(root, rel, text, enc="iso2022_jp"):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(text.encode(enc) if isinstance(text, str) else text)

def main():
    for d in ("tree", "broken"):
        shutil.rmtree(d, ignore_errors=True)
    manifest = {"patients": [], "messages": [], "broken": []}
    ctl = 1000
    for i in range(24):
        pidv = f"T{7000000 + i:07d}"
        p = {"id": pidv, "fam": FAMILY[i % 6], "giv": GIVEN[(i // 6) % 6], "kf": KANA_F[i % 6],
             "kg": KANA_G[(i // 6) % 6], "birth": f"19{40 + i:02d}{(i % 12) + 1:02d}{(i % 27) + 1:02d}",
             "sex": "MF"[i % 2], "zip": f"{100 + i:03d}-{8000 + i:04d}", "addr": CITIES[i % 3],
             "tel": f"0{3 + i % 6}-{5000 + i:04d}-{1000 + i:04d}"}
        cancer = CANCERS[i % 4]
        drug = DRUGS[i % 4]
        base = f"{pidv[:3]}/{pidv[3:6]}/{pidv}"
        day = f"202604{(i % 20) + 1:02d}"
        msgs = []
        ctl += 1
        adt = SEP.join([MSH.format(ts=day + "090000", type="ADT^A08^ADT_A01", ctl=f"A{ctl}"),
                        "EVN||" + day + "0900", pid(p), "PV1|0001|O|01^^^^^C"]) + SEP
        msgs.append(("ADT-00", "-", adt, f"A{ctl}", {"patient": {"sex": "male" if p["sex"] == "M" else "female",
                                                              "birth_year_month": f"{p['birth'][:4]}-{p['birth'][4:6]}"}}))
        ctl += 1
        icd = cancer[0].replace(".", "")
        ppr = SEP.join([MSH.format(ts=day + "100000", type="PPR^ZD1^PPR_ZD1", ctl=f"P{ctl}"), pid(p),
                        f"PRB|AD|{day}|99999999^{cancer[1]}^MDCDX2|PRB{ctl}|||{day}|||{icd}^^I10^O^外来時^JHSD0004||||N^^HL70241||{day}|{cancer[1]}|1^主診断^JHSD0007",
                        f"PRB|AD|{day}|20059999^高血圧症^MDCDX2|PRB{ctl}B|||{day}|||I10^^I10||||||||2^副診断^JHSD0007"]) + SEP
        msgs.append(("PPR-01", "-", ppr, f"P{ctl}", {"diagnosis": cancer[0], "text": cancer[1]}))
        ctl += 1
        rde = SEP.join([MSH.format(ts=day + "110000", type="RDE^O11^RDE_O11", ctl=f"R{ctl}"), pid(p),
                        f"ORC|NW|ORD{ctl}||1|||||{day}110000",
                        f"RXE||{drug[0]}^{drug[1]}^HOT9|1||TAB^錠^MR9P",
                        f"TQ1|1||1013044400000000&内服・経口・１日２回朝夕食後&JAMISDP01|||14^d|{day}0900",
                        "RXR|PO^口^HL70162"]) + SEP
        msgs.append(("OMP-01", f"ORD{ctl}", rde, f"R{ctl}", {"drug": drug[2]}))
        ctl += 1
        oru = SEP.join([MSH.format(ts=day + "120000", type="ORU^R01^ORU_R01", ctl=f"O{ctl}"), pid(p),
                        f"OBR|1|ORD{ctl}||PS^PS評価^99XYZ|||{day}",
                        f"OBX|1|NM|89247-1^ECOG Performance Status^LN||{i % 3}||||||F|||{day}1200",
                        f"OBX|2|CWE|72166-2^喫煙状況^LN||8517006^過去喫煙^SCT||||||F|||{day}1200",
                        f"OBX|3|NM|3A010000002327101^総蛋白^JC10||7.{i % 10}|g/dl^g/dl^99XYZ|6.70-8.3||||F|||{day}1200"]) + SEP
        msgs.append(("OML-11", f"ORD{ctl}", oru, f"O{ctl}", {"ecog": i % 3}))
        for k, (kind, order, text, msgid, expect) in enumerate(msgs):
            stamp = f"{day}{9 + k:02d}0000000"
            name = f"{pidv}_{day if order != '-' else '-'}_{kind}_{order if order != '-' else '999999999999999'}_{stamp}_01_1"
            rel = f"{base}/{day}/{kind}/{name}"
            write("tree", rel, text)
            manifest["messages"].append({"file": rel, "patient": pidv, "message_id": msgid, "expect": expect})
        manifest["patients"].append({"id": pidv, "identifiers": [p["fam"], p["giv"], p["kf"], p["kg"], p["addr"],
                                                              p["tel"], p["zip"], p["birth"], pidv]})
    # a withdrawn message (condition flag 0) is skipped, never sent
    write("tree", "T70/000/T7000000/20260401/ADT-00/T7000000_-_ADT-00_999999999999999_20260401130000000_01_0",
          SEP.join([MSH.format(ts="20260401130000", type="ADT^A08^ADT_A01", ctl="W1"), "PID|0001||T7000000^^^^PI||||19400101|F"]) + SEP)
    # malformed messages
    good = SEP.join([MSH.format(ts="20260501090000", type="ADT^A08^ADT_A01", ctl="B{n}"), "PID|0001||B0000001^^^^PI||試験^花子||19700101|F"]) + SEP
    broken = {
        "bad-jis-byte": (good.format(n=1).encode("iso2022_jp").replace(b"\x1b$B", b"\x1b$B\x8f", 1), "not valid in ISO-2022-JP"),
        "bad-jis-truncated": (good.format(n=2).encode("iso2022_jp").split(b"\x1b(B")[0][:-1], "ISO-2022-JP"),
        "bad-escape": (SEP.join([MSH.format(ts="20260501090000", type="ADT^A08^ADT_A01", ctl="B3"),
                                 "PID|0001||B0000003^^^^PI||試験\\Q\\^花子||19700101|F"]) + SEP, "escape sequence"),
        "no-pid": (SEP.join([MSH.format(ts="20260501090000", type="ADT^A08^ADT_A01", ctl="B4"), "PV1|0001|O"]) + SEP, "no PID segment"),
        "bad-encoding-chars": ("MSH|^^\\&|HIS|X|GW|R|20260501||ADT^A08|B5|P|2.5\rPID|1||B5^^^^PI\r", "not distinct"),
        "not-hl7": ("患者ID,氏名\n1,試験\n", "MSH"),
        "bad-segment": (SEP.join([MSH.format(ts="20260501090000", type="ADT^A08^ADT_A01", ctl="B7"), "pid|0001||B7"]) + SEP, "segment name"),
    }
    for name, (text, reason) in broken.items():
        rel = f"B00/000/B0000001/20260501/ADT-00/B0000001_-_ADT-00_{name}_20260501090000000_01_1"
        write("broken", rel, text if isinstance(text, bytes) else text.encode("utf-8") if name == "not-hl7" else text)
        manifest["broken"].append({"file": rel, "reason": reason})
    with open("manifest.json", "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
    mapping = {"mapping_version": 1,
               "drugs": {"HOT9": {d[0]: {"name": d[2], "atc": d[3]} for d in DRUGS}},
               "oncotree": {c[0]: c[2] for c in CANCERS}}
    mapping["drugs"]["HOT9"].update({"108665201": {"name": "serrapeptase"},
                                     "110626901": {"name": "cefotiam hexetil"},
                                     "100607002": {"name": "phenytoin", "atc": "N03AB02"}})
    with open("mapping.json", "w", encoding="utf-8") as f:
        json.dump(mapping, f, ensure_ascii=False, indent=1)

main()
