//! A budget check of an `.xls` before calamine opens it. calamine trusts the file: it allocates
//! what the compound file's header and directory declare, follows sector chains without a cycle
//! check, and expands every sheet to the rectangle its cells span (two cells 65,536 rows apart are
//! 16 million cells), once per sheet entry — a crafted file of a few KB could exhaust memory and
//! abort the process. This module walks the same structures calamine will (the OLE compound file's
//! header, DIFAT, FAT, directory, mini stream, then the BIFF records of the `Workbook` stream) and
//! refuses a file whose sizes, chains or sheet rectangles are out of proportion, so what calamine
//! allocates stays within [`MAX_AREA`] cells and the file's own size.
//! Must never: allocate more than the file's size, loop on a cycle, or index out of bounds.
//! Implements: [MS-CFB] §2.2-2.6 and the [MS-XLS] records calamine reads (BOF, EOF, BoundSheet8,
//! Dimensions, cell records).

/// The most cells calamine may lay out over all the sheets it expands.
pub const MAX_AREA: u64 = 2_000_000;
/// The most sheet entries (BoundSheet8 records).
pub const MAX_SHEETS: usize = 256;

const ENDOFCHAIN: u32 = 0xFFFF_FFFE;
/// Sector numbers from here up are markers (DIFAT, FAT, end of chain, free), not sectors.
const MAXREGSECT_END: u32 = 0xFFFF_FFFA;
const DIFSECT: u32 = 0xFFFF_FFFC;
/// calamine reads the mini stream in 64-byte sectors, and streams under 4096 bytes from it.
const MINI_SECTOR: usize = 64;
const MINI_CUTOFF: usize = 4096;

/// Checks an `.xls`'s structure and sizes; the reason of a refusal, in English.
pub fn check(bytes: &[u8]) -> Result<(), String> {
    let stream = workbook_stream(bytes)?;
    check_sheets(&stream)
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at.checked_add(2)?)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at.checked_add(4)?)?.try_into().ok()?))
}

fn u64_at(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(bytes.get(at..at.checked_add(8)?)?.try_into().ok()?))
}

struct Cfb<'a> {
    bytes: &'a [u8],
    sector_size: usize,
    sectors: u32,
    fat: Vec<u32>,
}

impl Cfb<'_> {
    fn sector(&self, id: u32) -> Result<&[u8], String> {
        if id >= self.sectors {
            return Err(format!("sector {id} beyond the file"));
        }
        let start = (id as usize).saturating_add(1).saturating_mul(self.sector_size);
        let end = start.saturating_add(self.sector_size).min(self.bytes.len());
        self.bytes.get(start..end).ok_or_else(|| format!("sector {id} beyond the file"))
    }

    /// The sectors of a chain, each within the file, without a cycle.
    fn chain(&self, mut id: u32) -> Result<Vec<u32>, String> {
        let mut ids = Vec::new();
        while id != ENDOFCHAIN {
            if id >= self.sectors || ids.len() >= self.sectors as usize {
                return Err("a sector chain leaves the file or loops".to_owned());
            }
            ids.push(id);
            id = *self.fat.get(id as usize).ok_or("a sector chain leaves the FAT")?;
        }
        Ok(ids)
    }

    fn read_chain(&self, start: u32, len: usize) -> Result<Vec<u8>, String> {
        let mut data = Vec::new();
        for id in self.chain(start)? {
            data.extend_from_slice(self.sector(id)?);
        }
        data.truncate(len);
        Ok(data)
    }
}

/// The `Workbook` (or `Book`) stream, after checking every size and chain calamine will use.
fn workbook_stream(bytes: &[u8]) -> Result<Vec<u8>, String> {
    if bytes.get(..8) != Some(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1][..]) {
        return Err("not an OLE compound file".to_owned());
    }
    let header = |at| u32_at(bytes, at).ok_or_else(|| "short header".to_owned());
    let sector_size = match u16_at(bytes, 30) {
        Some(9) => 512,
        Some(12) => 4096,
        _ => return Err("bad sector size".to_owned()),
    };
    if u16_at(bytes, 32) != Some(6) {
        return Err("bad mini sector size".to_owned());
    }
    let sectors =
        u32::try_from(bytes.len().saturating_sub(sector_size).div_ceil(sector_size)).map_err(|_| "too large")?;
    let (dir_len, fat_len, dir_start) = (header(40)?, header(44)?, header(48)?);
    let (mini_fat_start, mini_fat_len, difat_start) = (header(60)?, header(64)?, header(68)?);
    // calamine sizes its DIFAT by the 4 bytes at offset 62 (straddling two fields).
    if dir_len > sectors || fat_len > sectors || mini_fat_len > sectors || header(62)? > 1 << 25 {
        return Err("the header declares more sectors than the file has".to_owned());
    }
    let mut cfb = Cfb { bytes, sector_size, sectors, fat: Vec::new() };
    let mut difat: Vec<u32> = (0..109).filter_map(|i| u32_at(bytes, 76 + 4 * i)).collect();
    let mut next = difat_start;
    let mut hops = 0_u32;
    while next < MAXREGSECT_END {
        hops += 1;
        if hops > sectors {
            return Err("the DIFAT chain loops".to_owned());
        }
        let sector = cfb.sector(next)?;
        difat.extend((0..sector.len() / 4).filter_map(|i| u32_at(sector, 4 * i)));
        next = difat.pop().unwrap_or(ENDOFCHAIN);
    }
    let fat_sectors: Vec<u32> = difat.into_iter().filter(|id| *id < DIFSECT).collect();
    if fat_sectors.len() > sectors as usize {
        return Err("more FAT sectors than the file has".to_owned());
    }
    let mut fat = Vec::new();
    for id in fat_sectors {
        let sector = cfb.sector(id)?;
        fat.extend((0..sector.len() / 4).filter_map(|i| u32_at(sector, 4 * i)));
    }
    cfb.fat = fat;
    let directory = cfb.read_chain(dir_start, usize::MAX)?;
    let mut entries = Vec::new();
    for entry in directory.chunks(128).filter(|c| c.len() == 128) {
        let units: Vec<u16> = (0..32).filter_map(|i| u16_at(entry, 2 * i)).take_while(|u| *u != 0).collect();
        let name = String::from_utf16_lossy(&units);
        let start = u32_at(entry, 116).unwrap_or(ENDOFCHAIN);
        let len = if sector_size == 512 {
            u64::from(u32_at(entry, 120).unwrap_or(0))
        } else {
            u64_at(entry, 120).unwrap_or(0)
        };
        if len > bytes.len() as u64 {
            return Err(format!("stream {name:?} is larger than the file"));
        }
        if name == "_VBA_PROJECT_CUR" {
            return Err("workbooks with macros are not accepted".to_owned());
        }
        entries.push((name, start, len as usize));
    }
    let (_, root_start, root_len) = entries.first().cloned().ok_or("no directory")?;
    let (mini_stream, mini_fat) = if mini_fat_len > 0 {
        let stream = cfb.read_chain(root_start, root_len)?;
        let table = cfb.read_chain(mini_fat_start, usize::MAX)?;
        (stream, (0..table.len() / 4).filter_map(|i| u32_at(&table, 4 * i)).collect::<Vec<_>>())
    } else {
        (Vec::new(), Vec::new())
    };
    let (_, start, len) = entries
        .iter()
        .find(|(name, ..)| name == "Workbook")
        .or_else(|| entries.iter().find(|(name, ..)| name == "Book"))
        .cloned()
        .ok_or("no Workbook stream")?;
    if len >= MINI_CUTOFF {
        return cfb.read_chain(start, len);
    }
    let mut data = Vec::new();
    let mut id = start;
    let mut hops = 0_usize;
    while id != ENDOFCHAIN {
        hops += 1;
        let from = (id as usize).saturating_mul(MINI_SECTOR);
        let sector = mini_stream.get(from..from.saturating_add(MINI_SECTOR)).filter(|_| hops <= mini_fat.len());
        let (Some(sector), Some(next)) = (sector, mini_fat.get(id as usize)) else {
            return Err("a mini sector chain leaves the mini stream or loops".to_owned());
        };
        data.extend_from_slice(sector);
        id = *next;
    }
    data.truncate(len);
    Ok(data)
}

/// BIFF records from `at`: (type, data), stopping at the stream's end or a record cut short.
fn records(stream: &[u8], mut at: usize) -> impl Iterator<Item = (u16, &[u8])> {
    std::iter::from_fn(move || {
        let typ = u16_at(stream, at)?;
        let len = usize::from(u16_at(stream, at + 2)?);
        let data = stream.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((typ, data))
    })
}

/// The rectangle calamine lays out for each sheet entry, and the room it reserves, in all.
fn check_sheets(stream: &[u8]) -> Result<(), String> {
    let mut positions = Vec::new();
    for (typ, data) in records(stream, 0) {
        match typ {
            0x000A => break,
            0x0085 => positions.push(u32_at(data, 0).ok_or("short BoundSheet8")? as usize),
            _ => {}
        }
        if positions.len() > MAX_SHEETS {
            return Err(format!("more than {MAX_SHEETS} sheets"));
        }
    }
    let mut area = 0_u64;
    for at in positions {
        if at >= stream.len() {
            return Err("a sheet starts beyond the workbook".to_owned());
        }
        let mut bounds: Option<(u32, u32, u32, u32)> = None;
        let mut widen = |row: u32, first: u32, last: u32| {
            let (r0, r1, c0, c1) = bounds.unwrap_or((row, row, first, last));
            bounds = Some((r0.min(row), r1.max(row), c0.min(first), c1.max(last)));
        };
        for (typ, data) in records(stream, at) {
            let row = u32::from(u16_at(data, 0).unwrap_or(0));
            let col = u32::from(u16_at(data, 2).unwrap_or(0));
            match typ {
                0x000A => break,
                0x0200 => area = area.saturating_add(dimensions(data)?),
                0x0203 | 0x0204 | 0x00FD | 0x027E | 0x0205 | 0x0006 => widen(row, col, col),
                0x00BD => {
                    let last = u32::from(u16_at(data, data.len().saturating_sub(2)).unwrap_or(0));
                    if last < col {
                        return Err("a MulRk record ends before it starts".to_owned());
                    }
                    widen(row, col, last);
                }
                _ => {}
            }
        }
        if let Some((r0, r1, c0, c1)) = bounds {
            let cells = u64::from(r1 - r0 + 1).saturating_mul(u64::from(c1 - c0 + 1));
            // The values and the formulas are each laid out over the rectangle.
            area = area.saturating_add(cells.saturating_mul(2));
        }
        if area > MAX_AREA {
            return Err(format!("the sheets span more than {MAX_AREA} cells"));
        }
    }
    Ok(())
}

/// The cells calamine reserves for a Dimensions record, as it reads one; a record it would
/// compute with an underflow is refused.
fn dimensions(data: &[u8]) -> Result<u64, String> {
    let (first_row, last_row, mut first_col, last_col) = match data.len() {
        10 => (
            u32::from(u16_at(data, 0).unwrap_or(0)),
            u32::from(u16_at(data, 2).unwrap_or(0)),
            u32::from(u16_at(data, 4).unwrap_or(0)),
            u32::from(u16_at(data, 6).unwrap_or(0)),
        ),
        14 => (
            u32_at(data, 0).unwrap_or(0),
            u32_at(data, 4).unwrap_or(0),
            u32::from(u16_at(data, 8).unwrap_or(0)),
            u32::from(u16_at(data, 10).unwrap_or(0)),
        ),
        // calamine refuses the file.
        _ => return Ok(0),
    };
    if first_col > 0xFF || last_col < first_col {
        first_col = 0;
    }
    if last_row == 0 || last_col == 0 {
        return Ok(1);
    }
    let rows = (last_row - 1).checked_sub(first_row).map(|r| u64::from(r) + 1);
    let cols = (last_col - 1).checked_sub(first_col).map(|c| u64::from(c) + 1);
    match (rows, cols) {
        (Some(rows), Some(cols)) => Ok(rows.saturating_mul(cols)),
        _ => Err("a Dimensions record ends before it starts".to_owned()),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    fn record(typ: u16, data: &[u8]) -> Vec<u8> {
        let mut out = typ.to_le_bytes().to_vec();
        out.extend_from_slice(&u16::try_from(data.len()).unwrap().to_le_bytes());
        out.extend_from_slice(data);
        out
    }

    fn number(row: u16, col: u16) -> Vec<u8> {
        let mut data = row.to_le_bytes().to_vec();
        data.extend_from_slice(&col.to_le_bytes());
        data.extend_from_slice(&[0; 10]);
        record(0x0203, &data)
    }

    /// A Workbook stream: globals with `sheets` entries all pointing at one sheet of `cells`.
    fn stream(sheets: usize, cells: &[Vec<u8>]) -> Vec<u8> {
        let globals_len = 8 + sheets * 12 + 4;
        let mut out = record(0x0809, &[0, 6, 5, 0]);
        for _ in 0..sheets {
            out.extend(record(
                0x0085,
                &[&u32::try_from(globals_len).unwrap().to_le_bytes()[..], &[0, 0, 1, 0]].concat(),
            ));
        }
        out.extend(record(0x000A, &[]));
        out.extend(record(0x0809, &[0, 6, 16, 0]));
        for cell in cells {
            out.extend_from_slice(cell);
        }
        out.extend(record(0x000A, &[]));
        out
    }

    #[test]
    fn sheets_are_measured_as_calamine_lays_them_out() {
        assert_eq!(check_sheets(&stream(1, &[number(0, 0), number(999, 13)])), Ok(()));
        let sparse = stream(1, &[number(0, 0), number(65_535, 255)]);
        assert_eq!(check_sheets(&sparse), Err("the sheets span more than 2000000 cells".to_owned()));
        // The same small sheet listed a thousand times is laid out a thousand times.
        let repeated = stream(1000, &[number(0, 0), number(999, 13)]);
        assert_eq!(check_sheets(&repeated), Err("more than 256 sheets".to_owned()));
        let dims = record(0x0200, &[&0_u32.to_le_bytes()[..], &u32::MAX.to_le_bytes(), &[0, 0, 14, 0, 0, 0]].concat());
        assert!(check_sheets(&stream(1, &[dims])).is_err());
        let backwards =
            record(0x0200, &[&10_u32.to_le_bytes()[..], &5_u32.to_le_bytes(), &[0, 0, 14, 0, 0, 0]].concat());
        assert_eq!(check_sheets(&stream(1, &[backwards])), Err("a Dimensions record ends before it starts".to_owned()));
    }

    #[test]
    fn the_fixtures_pass_and_damage_is_refused() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/recon");
        for name in ["c_x999-MOVCC20240520-1_0.xls", "c_x999-MOVCC20240521-1_0.xls"] {
            let bytes = std::fs::read(dir.join(name)).unwrap();
            assert_eq!(check(&bytes), Ok(()), "{name}");
            // Every FAT entry pointing to sector 0: chains loop, and are refused.
            let mut looped = bytes.clone();
            let fat_sector = u32_at(&bytes, 76).unwrap() as usize;
            for i in 0..128 {
                let at = (fat_sector + 1) * 512 + 4 * i;
                looped[at..at + 4].copy_from_slice(&0_u32.to_le_bytes());
            }
            assert!(check(&looped).is_err());
            let mut huge_fat = bytes.clone();
            huge_fat[44..48].copy_from_slice(&u32::MAX.to_le_bytes());
            assert_eq!(check(&huge_fat), Err("the header declares more sectors than the file has".to_owned()));
            assert!(check(&bytes[..1000]).is_err());
        }
        assert_eq!(check(b"PK\x03\x04"), Err("not an OLE compound file".to_owned()));
    }
}
