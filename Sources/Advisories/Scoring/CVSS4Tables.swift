/// CVSS v4.0 data from the FIRST specification (BSD-2-Clause, © FIRST, Red Hat and contributors):
/// the expert-assigned score of each MacroVector, the highest-severity vectors of each
/// equivalence class, and each class's depth.
enum CVSS4Tables {
    /// `score:macro macro …` groups; every MacroVector that exists appears once.
    private static let scoreGroups = """
    10:000000,000100 9.9:000001,010000 9.8:000010,001000,100000 9.7:010001 9.6:000101
    9.5:000011,000020,001001,001010,010010,010100,011000,100001,110000 9.4:100010,100100,101000
    9.3:000110,000200,001100,011001,200000 9.2:000021,001011,001101,002001,010011,010020,010200,011010,011100
    9.1:000120,010101,100020 9:000201,001020,010110,110001,110100 8.9:000210,001110,100101,101001,111000
    8.8:001200,101010,110010,210000 8.7:000111,100011,100200,200001 8.6:012001,100110,101100,200010,200100
    8.5:010021,011011,011020,201000 8.4:001021,010120,011200 8.3:010111,102001 8.2:002011,010210,011101
    8.1:000121,000220,001111,001120,010201,100021 8:000211,001201,011110 7.9:002101 7.8:001210,111001
    7.7:100120,101011,110101,110200 7.6:101020,101101,110011,110020,111010
    7.5:012011,100201,110110,200020,201001,210001,211000 7.4:100111,100210,101110,111100,200101,200110,201010
    7.3:011021,210010,210100 7.2:002021,010220,011111,101200,200011,201100 7.1:010121,010211,011210,012101,112001
    7:001211,011120,011201,102011,110021,200200 6.9:001220,002111,002201 6.8:000221,110210 6.7:101021,111011
    6.6:110201 6.5:001121,102101 6.4:100121,202001 6.3:012201,100211,100220 6.2:110111,111020,201020
    6.1:110120,111200,200111,211100 6:210020 5.9:011121,101120,110211,111101,112011,210110
    5.8:101111,102111,111021,112101,200021,211010 5.7:101201,101210,111110,111111,111210,201101 5.6:200120
    5.5:002211,201011,201110,210101,211001 5.4:102021,200201,210200 5.3:010221,102201,110121,201200,210011,212001
    5.2:011211,012021,012111,101211,101220,110220,111201,200210 5.1:201021,202011,211101
    5:002121,011220,101121,210021 4.9:100221 4.8:001221,211110 4.7:111120,202101 4.6:201120,211200
    4.5:210210,211011 4.3:210201 4.1:201111,210120 4:200211,200220,210111,211020 3.6:201201 3.4:200121,201210
    3:011221,110221,112021 2.9:012121,012211,111211 2.7:002221 2.6:102121,112111 2.5:101221
    2.4:111220,202201,212011,212101 2.3:111121,112201 2.2:200221,210211 2.1:102211,202111,211021
    2:202021,210121,210220,211120 1.9:201121,201211,201220 1.8:211111,211201 1.7:012221,211210 1.6:111221
    1.5:112121 1.4:212021 1.3:102221,112211 1.2:212111 1.1:202121,210221 1:212201 0.9:202211,211121
    0.8:201221,211220 0.7:211211 0.6:112221 0.5:212121 0.4:202221 0.3:212211 0.2:211221 0.1:212221
    """

    static let macroScores: [String: Double] = {
        var out: [String: Double] = [:]
        for group in scoreGroups.split(whereSeparator: { $0 == " " || $0 == "\n" }) {
            let parts = group.split(separator: ":")
            guard parts.count == 2, let score = Double(parts[0]) else { continue }
            for macro in parts[1].split(separator: ",") { out[String(macro)] = score }
        }
        return out
    }()

    /// Depth (maximal severity distance + 1) of each class, in tenths.
    static let depth1: [Double] = [1, 4, 5]
    static let depth2: [Double] = [1, 2]
    static let depth36: [Int: [Int: Double]] = [0: [0: 7, 1: 6], 1: [0: 8, 1: 8], 2: [1: 10]]
    static let depth4: [Double] = [6, 5, 4]

    private static let eq1Max = [["AV:N/PR:N/UI:N"], ["AV:A/PR:N/UI:N", "AV:N/PR:L/UI:N", "AV:N/PR:N/UI:P"], ["AV:P/PR:N/UI:N", "AV:A/PR:L/UI:P"]]
    private static let eq2Max = [["AC:L/AT:N"], ["AC:H/AT:N", "AC:L/AT:P"]]
    private static let eq36Max: [Int: [Int: [String]]] = [
        0: [0: ["VC:H/VI:H/VA:H/CR:H/IR:H/AR:H"], 1: ["VC:H/VI:H/VA:L/CR:M/IR:M/AR:H", "VC:H/VI:H/VA:H/CR:M/IR:M/AR:M"]],
        1: [0: ["VC:L/VI:H/VA:H/CR:H/IR:H/AR:H", "VC:H/VI:L/VA:H/CR:H/IR:H/AR:H"],
            1: ["VC:L/VI:H/VA:L/CR:H/IR:M/AR:H", "VC:L/VI:H/VA:H/CR:H/IR:M/AR:M", "VC:H/VI:L/VA:H/CR:M/IR:H/AR:M",
                "VC:H/VI:L/VA:L/CR:M/IR:H/AR:H", "VC:L/VI:L/VA:H/CR:H/IR:H/AR:M"]],
        2: [1: ["VC:L/VI:L/VA:L/CR:H/IR:H/AR:H"]],
    ]
    private static let eq4Max = [["SC:H/SI:S/SA:S"], ["SC:H/SI:H/SA:H"], ["SC:L/SI:L/SA:L"]]
    private static let eq5Max = [["E:A"], ["E:P"], ["E:U"]]

    /// Every combination of the classes' highest-severity vectors, in the specification's order.
    static func maxVectors(eq1: Int, eq2: Int, eq3: Int, eq6: Int, eq4: Int, eq5: Int) -> [[String: String]] {
        var out: [[String: String]] = []
        for a in eq1Max[eq1] { for b in eq2Max[eq2] { for c in eq36Max[eq3]?[eq6] ?? [] { for d in eq4Max[eq4] { for e in eq5Max[eq5] {
            var m: [String: String] = [:]
            for part in [a, b, c, d, e].joined(separator: "/").split(separator: "/") {
                let kv = part.split(separator: ":")
                if kv.count == 2 { m[String(kv[0])] = String(kv[1]) }
            }
            out.append(m)
        } } } } }
        return out
    }
}
