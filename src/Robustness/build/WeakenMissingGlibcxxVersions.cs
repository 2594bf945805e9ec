// Build step: make TorchSharp's native glue load on hosts whose libstdc++ is older than the one it was linked
// against (Debian 12, Ubuntu 22.04: GLIBCXX up to 3.4.30).
//
// libLibTorchSharp.so 0.107 records a version need for GLIBCXX_3.4.32 (GCC 13) only because it references the
// marker symbol std::ios_base_library_init(), which no relocation uses. The dynamic loader refuses a library
// with an unmet *strong* version need, but accepts an unmet *weak* one (VER_FLG_WEAK in vna_flags). This file
// sets that flag on the named version needs, in a copy of the library, when the host's libstdc++ does not
// define them. Nothing else in the file changes.
//
// This single file is compiled twice: by MSBuild's RoslynCodeTaskFactory (Robustness.targets) and by the unit
// tests. It therefore targets netstandard2.0 APIs and C# 7.3, and uses no other file.
#nullable disable
using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using Microsoft.Build.Framework;
using Microsoft.Build.Utilities;

namespace Robustness.Build
{
    /// <summary>Reads and edits the symbol-version sections of a 64-bit little-endian ELF shared library.</summary>
    public sealed class ElfVersionInfo
    {
        private const uint ShtGnuVerdef = 0x6ffffffd;
        private const uint ShtGnuVerneed = 0x6ffffffe;

        /// <summary>VER_FLG_WEAK: an unmet version need with this flag is a warning for the loader, not an error.</summary>
        public const ushort VerFlagWeak = 0x2;

        private readonly byte[] _bytes;

        private ElfVersionInfo(byte[] bytes) { _bytes = bytes; }

        /// <summary>The version needs: (library, version name, flags, offset of vna_flags in the file).</summary>
        public List<VersionNeed> Needs { get; } = new List<VersionNeed>();

        /// <summary>The version names this library defines (its .gnu.version_d section).</summary>
        public List<string> Definitions { get; } = new List<string>();

        /// <summary>The file's bytes (edited in place by <see cref="Weaken"/>).</summary>
        public byte[] Bytes { get { return _bytes; } }

        /// <summary>True when the bytes start with the ELF magic number.</summary>
        public static bool IsElf(byte[] bytes)
        {
            return bytes.Length >= 64 && bytes[0] == 0x7f && bytes[1] == (byte)'E' && bytes[2] == (byte)'L' && bytes[3] == (byte)'F';
        }

        /// <summary>Parses the version sections. Throws <see cref="InvalidDataException"/> for anything but ELF64 LE.</summary>
        public static ElfVersionInfo Parse(byte[] bytes)
        {
            if (!IsElf(bytes)) throw new InvalidDataException("Not an ELF file (bad magic number).");
            if (bytes[4] != 2) throw new InvalidDataException("Only 64-bit ELF files are supported (EI_CLASS must be ELFCLASS64).");
            if (bytes[5] != 1) throw new InvalidDataException("Only little-endian ELF files are supported (EI_DATA must be ELFDATA2LSB).");

            var info = new ElfVersionInfo(bytes);
            long shoff = (long)info.U64(0x28);
            int shentsize = info.U16(0x3A);
            int shnum = info.U16(0x3C);
            if (shoff <= 0 || shentsize < 64 || shoff + (long)shentsize * shnum > bytes.Length)
                throw new InvalidDataException("The ELF section header table lies outside the file.");

            for (int i = 0; i < shnum; i++)
            {
                long sh = shoff + (long)i * shentsize;
                uint type = info.U32(sh + 4);
                if (type != ShtGnuVerneed && type != ShtGnuVerdef) continue;
                long offset = (long)info.U64(sh + 0x18);
                uint link = info.U32(sh + 0x28);
                uint count = info.U32(sh + 0x2C); // sh_info: number of entries
                long strtab = (long)info.U64(shoff + (long)link * shentsize + 0x18);
                if (type == ShtGnuVerneed) info.ReadNeeds(offset, count, strtab);
                else info.ReadDefinitions(offset, count, strtab);
            }
            return info;
        }

        /// <summary>Sets VER_FLG_WEAK on every need of <paramref name="version"/>; returns how many entries changed.</summary>
        public int Weaken(string version)
        {
            int changed = 0;
            for (int i = 0; i < Needs.Count; i++)
            {
                VersionNeed need = Needs[i];
                if (need.Version != version || (need.Flags & VerFlagWeak) != 0) continue;
                ushort flags = (ushort)(need.Flags | VerFlagWeak);
                _bytes[need.FlagsOffset] = (byte)(flags & 0xff);
                _bytes[need.FlagsOffset + 1] = (byte)(flags >> 8);
                Needs[i] = new VersionNeed(need.Library, need.Version, flags, need.FlagsOffset);
                changed++;
            }
            return changed;
        }

        private void ReadNeeds(long offset, uint count, long strtab)
        {
            long vn = offset;
            for (uint n = 0; n < count; n++)
            {
                int auxCount = U16(vn + 2);
                string file = CString(strtab + U32(vn + 4));
                long aux = vn + U32(vn + 8);
                for (int a = 0; a < auxCount; a++)
                {
                    ushort flags = U16(aux + 4);
                    string name = CString(strtab + U32(aux + 8));
                    Needs.Add(new VersionNeed(file, name, flags, aux + 4));
                    uint nextAux = U32(aux + 12);
                    if (nextAux == 0) break;
                    aux += nextAux;
                }
                uint next = U32(vn + 12);
                if (next == 0) break;
                vn += next;
            }
        }

        private void ReadDefinitions(long offset, uint count, long strtab)
        {
            long vd = offset;
            for (uint n = 0; n < count; n++)
            {
                long aux = vd + U32(vd + 12);
                Definitions.Add(CString(strtab + U32(aux)));
                uint next = U32(vd + 16);
                if (next == 0) break;
                vd += next;
            }
        }

        private void Check(long at, int size)
        {
            if (at < 0 || at + size > _bytes.Length) throw new InvalidDataException("A version section points outside the ELF file.");
        }

        private ushort U16(long at) { Check(at, 2); return (ushort)(_bytes[at] | _bytes[at + 1] << 8); }
        private uint U32(long at) { Check(at, 4); return (uint)(_bytes[at] | _bytes[at + 1] << 8 | _bytes[at + 2] << 16 | _bytes[at + 3] << 24); }
        private ulong U64(long at) { Check(at, 8); return U32(at) | (ulong)U32(at + 4) << 32; }

        private string CString(long at)
        {
            Check(at, 1);
            long end = at;
            while (end < _bytes.Length && _bytes[end] != 0) end++;
            return Encoding.ASCII.GetString(_bytes, (int)at, (int)(end - at));
        }
    }

    /// <summary>One version need: <c>Library</c> must define <c>Version</c>.</summary>
    public struct VersionNeed
    {
        /// <summary>Creates a version need record.</summary>
        public VersionNeed(string library, string version, ushort flags, long flagsOffset)
        {
            Library = library; Version = version; Flags = flags; FlagsOffset = flagsOffset;
        }

        /// <summary>The needed library's soname, e.g. libstdc++.so.6.</summary>
        public string Library;
        /// <summary>The needed version, e.g. GLIBCXX_3.4.32.</summary>
        public string Version;
        /// <summary>vna_flags.</summary>
        public ushort Flags;
        /// <summary>Where vna_flags lies in the file.</summary>
        public long FlagsOffset;
    }

    /// <summary>
    /// MSBuild task: in each of <see cref="Files"/>, marks as weak the version needs named in <see cref="Versions"/>
    /// that the host's libstdc++ does not define (or all of them when <see cref="Force"/> is set). Files are
    /// rewritten atomically; files that need no change are left untouched.
    /// </summary>
    public class WeakenMissingGlibcxxVersions : Microsoft.Build.Utilities.Task
    {
        /// <summary>The native libraries to patch (libLibTorchSharp.so copies in an output folder).</summary>
        [Required]
        public ITaskItem[] Files { get; set; }

        /// <summary>Semicolon-separated version names that may be weakened, e.g. GLIBCXX_3.4.32.</summary>
        [Required]
        public string Versions { get; set; }

        /// <summary>The host libstdc++ to compare with; found automatically when empty.</summary>
        public string HostLibrary { get; set; }

        /// <summary>Weaken the named versions whatever the host has (for builds meant for older machines).</summary>
        public bool Force { get; set; }

        /// <summary>The files that were changed.</summary>
        [Output]
        public ITaskItem[] Patched { get; set; }

        /// <inheritdoc />
        public override bool Execute()
        {
            var patched = new List<ITaskItem>();
            var wanted = new List<string>();
            foreach (string v in (Versions ?? "").Split(new[] { ';', ',' }, StringSplitOptions.RemoveEmptyEntries)) wanted.Add(v.Trim());

            HashSet<string> hostVersions = null;
            if (!Force)
            {
                string host = string.IsNullOrEmpty(HostLibrary) ? FindHostLibstdcxx() : HostLibrary;
                if (host == null)
                {
                    Log.LogMessage(MessageImportance.Normal, "Robustness: no host libstdc++.so.6 found; native libraries left unchanged.");
                    Patched = patched.ToArray();
                    return true;
                }
                hostVersions = new HashSet<string>(ElfVersionInfo.Parse(File.ReadAllBytes(host)).Definitions);
            }

            foreach (ITaskItem item in Files ?? new ITaskItem[0])
            {
                string path = item.ItemSpec;
                byte[] bytes = File.ReadAllBytes(path);
                if (!ElfVersionInfo.IsElf(bytes)) continue;
                ElfVersionInfo elf = ElfVersionInfo.Parse(bytes);
                int changed = 0;
                foreach (string version in wanted)
                    if (hostVersions == null || !hostVersions.Contains(version)) changed += elf.Weaken(version);
                if (changed == 0) continue;

                // Atomic replace: write beside the target, then rename over it.
                string temp = path + ".robustness-tmp";
                File.WriteAllBytes(temp, elf.Bytes);
                File.Replace(temp, path, null);
                Log.LogMessage(MessageImportance.High, "Robustness: marked {0} version need(s) weak in {1} (host libstdc++ lacks them).", changed, path);
                patched.Add(item);
            }
            Patched = patched.ToArray();
            return !Log.HasLoggedErrors;
        }

        /// <summary>The first libstdc++.so.6 found in the usual library folders, or null.</summary>
        public static string FindHostLibstdcxx()
        {
            var folders = new List<string>();
            string ldPath = Environment.GetEnvironmentVariable("LD_LIBRARY_PATH");
            if (!string.IsNullOrEmpty(ldPath)) folders.AddRange(ldPath.Split(':'));
            folders.AddRange(new[]
            {
                "/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu", "/lib/aarch64-linux-gnu",
                "/usr/lib64", "/lib64", "/usr/lib", "/lib",
            });
            foreach (string folder in folders)
            {
                if (string.IsNullOrEmpty(folder)) continue;
                string candidate = Path.Combine(folder, "libstdc++.so.6");
                if (File.Exists(candidate)) return candidate;
            }
            return null;
        }
    }
}
