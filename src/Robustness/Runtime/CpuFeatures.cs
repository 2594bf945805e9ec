using System.Runtime.Intrinsics.X86;
using System.Text;

namespace Robustness.Runtime;

/// <summary>
/// The processor's instruction-set extensions that decide which libtorch and oneDNN kernels run, read with CPUID
/// (the hardware's own answer, independent of .NET's <c>DOTNET_EnableAVX512F</c>-style switches). On processors
/// other than x86-64 every flag is false and <see cref="Model"/> says so.
/// </summary>
public sealed record CpuFeatures
{
    /// <summary>The processor's brand string (e.g. "AMD EPYC 9R14"), or the architecture where there is none.</summary>
    public required string Model { get; init; }

    /// <summary>AVX-512 Foundation: oneDNN's and ATen's 512-bit kernels.</summary>
    public bool Avx512F { get; init; }

    /// <summary>The extension names found, in lscpu's spelling (avx2, fma, avx512f, avx512bw, ...).</summary>
    public IReadOnlyList<string> Extensions { get; init; } = [];

    /// <summary>The current processor's features.</summary>
    public static CpuFeatures Current { get; } = Read();

    private static CpuFeatures Read()
    {
        if (!X86Base.IsSupported)
            return new CpuFeatures { Model = System.Runtime.InteropServices.RuntimeInformation.ProcessArchitecture.ToString() };

        var found = new List<string>();
        var (_, _, ecx1, _) = X86Base.CpuId(1, 0);
        bool fma = Bit(ecx1, 12);
        int maxLeaf = X86Base.CpuId(0, 0).Eax;
        int ebx7 = 0, ecx7 = 0, edx7 = 0, eax71 = 0;
        if (maxLeaf >= 7)
        {
            (_, ebx7, ecx7, edx7) = X86Base.CpuId(7, 0);
            (eax71, _, _, _) = X86Base.CpuId(7, 1);
        }
        void Add(bool present, string name) { if (present) found.Add(name); }
        Add(Bit(ebx7, 5), "avx2");
        Add(fma, "fma");
        Add(Bit(ebx7, 16), "avx512f");
        Add(Bit(ebx7, 17), "avx512dq");
        Add(Bit(ebx7, 28), "avx512cd");
        Add(Bit(ebx7, 30), "avx512bw");
        Add(Bit(ebx7, 31), "avx512vl");
        Add(Bit(ecx7, 11), "avx512_vnni");
        Add(Bit(eax71, 5), "avx512_bf16");
        Add(Bit(edx7, 8), "avx512_vp2intersect");
        Add(Bit(edx7, 23), "avx512_fp16");
        Add(Bit(edx7, 22), "amx_bf16");
        return new CpuFeatures
        {
            Model = BrandString(),
            Avx512F = Bit(ebx7, 16),
            Extensions = found,
        };
    }

    private static bool Bit(int register, int bit) => (register & (1 << bit)) != 0;

    private static string BrandString()
    {
        if ((uint)X86Base.CpuId(unchecked((int)0x80000000), 0).Eax < 0x80000004u) return "x86-64";
        var text = new StringBuilder();
        for (uint leaf = 0x80000002; leaf <= 0x80000004; leaf++)
        {
            var (a, b, c, d) = X86Base.CpuId(unchecked((int)leaf), 0);
            foreach (int register in (int[])[a, b, c, d])
                for (int shift = 0; shift < 32; shift += 8)
                {
                    char ch = (char)((register >> shift) & 0xFF);
                    if (ch != '\0') text.Append(ch);
                }
        }
        string brand = text.ToString().Trim();
        return brand.Length > 0 ? brand : "x86-64";
    }
}
