import {
  type Color,
  fill,
  PageSizes,
  PDFDocument,
  type PDFFont,
  type PDFPage,
  popGraphicsState,
  pushGraphicsState,
  rectangle,
  rgb,
  StandardFonts,
  setCharacterSpacing,
  setFillingColor,
} from "pdf-lib";
import QRCode from "qrcode";

/** Everything printed on a ticket; the routes assemble it from the ticket, show, event and venue. */
export interface TicketDocument {
  ticketId: string;
  /** The signed payload from `signTicketBarcode`, encoded in the QR code. */
  barcode: string;
  eventName: string;
  performers: string[];
  startsAt: Date;
  /** The venue's IANA time zone: the show time is printed as the venue's wall clock. */
  timeZone: string;
  venueName: string;
  venueCity: string;
  section: string;
  row: string;
  seat: string;
  /** A general-admission ticket's number in its section (no row, no seat); null for a seat. */
  gaNumber?: number | null;
  tierName: string;
  /** Integer minor units of `currency`. */
  priceCents: number;
  currency: string;
  holder: string;
  /** BCP 47 locale for dates and money; `en-US` unless given. */
  locale?: string;
}

export function ticketQrSvg(barcode: string): Promise<string> {
  return QRCode.toString(barcode, { type: "svg", errorCorrectionLevel: "M", margin: 2 });
}

const INK = rgb(0.09, 0.09, 0.14);
const MUTED = rgb(0.44, 0.45, 0.52);
const BAND = rgb(0.12, 0.1, 0.3);
const BAND_TEXT = rgb(0.76, 0.75, 0.9);
const ACCENT = rgb(0.98, 0.43, 0.31);
const PANEL = rgb(0.95, 0.95, 0.98);
const RULE = rgb(0.78, 0.79, 0.84);
const WHITE = rgb(1, 1, 1);

const [PAGE_WIDTH, PAGE_HEIGHT] = PageSizes.A6;
const MARGIN = 20;
const CONTENT_WIDTH = PAGE_WIDTH - 2 * MARGIN;
const BAND_HEIGHT = 92;

// The standard fonts only cover WinAnsi; Intl output uses narrow no-break spaces and names can
// carry anything, so text is folded to what the font can encode instead of failing the render.
function textSanitizer(font: PDFFont) {
  const supported = new Set(font.getCharacterSet());
  const fold = (char: string) => {
    if (supported.has(char.codePointAt(0)!)) return char;
    const base = [...char.normalize("NFKD")].filter((c) => supported.has(c.codePointAt(0)!)).join("");
    return base || "?";
  };
  return {
    clean: (text: string) => [...text.replace(/[\s\u200b]+/gu, " ").trim()].map(fold).join(""),
    encodable: (text: string) => [...text].every((c) => supported.has(c.codePointAt(0)!)),
  };
}

function truncate(text: string, font: PDFFont, size: number, maxWidth: number): string {
  if (font.widthOfTextAtSize(text, size) <= maxWidth) return text;
  const shortened = (end: number) => `${text.slice(0, end).trimEnd()}…`;
  // Binary search for the longest prefix that fits: names are user input of any length.
  let fits = 0;
  let tooLong = text.length;
  while (tooLong - fits > 1) {
    const middle = Math.floor((fits + tooLong) / 2);
    if (font.widthOfTextAtSize(shortened(middle), size) <= maxWidth) fits = middle;
    else tooLong = middle;
  }
  return shortened(fits);
}

/** Greedy word wrap into at most `maxLines`, the last one truncated if the text is longer. */
function wrap(text: string, font: PDFFont, size: number, maxWidth: number, maxLines: number): string[] {
  const lines: string[] = [];
  let rest = text;
  while (rest && lines.length < maxLines - 1) {
    if (font.widthOfTextAtSize(rest, size) <= maxWidth) break;
    const words = rest.split(" ");
    let taken = 1;
    while (taken < words.length && font.widthOfTextAtSize(words.slice(0, taken + 1).join(" "), size) <= maxWidth) {
      taken++;
    }
    lines.push(truncate(words.slice(0, taken).join(" "), font, size, maxWidth));
    rest = words.slice(taken).join(" ");
  }
  if (rest) lines.push(truncate(rest, font, size, maxWidth));
  return lines;
}

function largestSizeThatFits(text: string, font: PDFFont, maxSize: number, minSize: number, maxWidth: number) {
  let size = maxSize;
  while (size > minSize && font.widthOfTextAtSize(text, size) > maxWidth) size -= 0.5;
  return size;
}

function formatPrice(cents: number, currency: string, locale: string, encodable: (text: string) => boolean) {
  const bySymbol = new Intl.NumberFormat(locale, { style: "currency", currency });
  const amount = cents / 10 ** (bySymbol.resolvedOptions().maximumFractionDigits ?? 2);
  const text = bySymbol.format(amount);
  // A symbol the font lacks (₹, ₩, …) would print as "?"; the ISO code is always printable.
  return encodable(text)
    ? text
    : new Intl.NumberFormat(locale, { style: "currency", currency, currencyDisplay: "code" }).format(amount);
}

/**
 * The QR code as filled rectangles, one per horizontal run of dark modules, in a single path:
 * vector, so it stays sharp at any print size, and one fill leaves no seams between modules.
 */
function drawQrCode(page: PDFPage, barcode: string, x: number, top: number, size: number) {
  const { modules } = QRCode.create(barcode, { errorCorrectionLevel: "M" });
  const cell = size / modules.size;
  const operators = [pushGraphicsState(), setFillingColor(INK)];
  for (let row = 0; row < modules.size; row++) {
    let col = 0;
    while (col < modules.size) {
      if (!modules.get(row, col)) {
        col++;
        continue;
      }
      const start = col;
      while (col < modules.size && modules.get(row, col)) col++;
      operators.push(rectangle(x + start * cell, top - (row + 1) * cell, (col - start) * cell, cell));
    }
  }
  operators.push(fill(), popGraphicsState());
  page.pushOperators(...operators);
}

export async function ticketPdf(ticket: TicketDocument): Promise<Uint8Array> {
  const locale = ticket.locale ?? "en-US";
  const doc = await PDFDocument.create();
  const regular = await doc.embedFont(StandardFonts.Helvetica);
  const bold = await doc.embedFont(StandardFonts.HelveticaBold);
  const mono = await doc.embedFont(StandardFonts.Courier);
  const { clean, encodable } = textSanitizer(regular);

  const eventName = clean(ticket.eventName);
  const section = clean(ticket.section);
  const row = clean(ticket.row);
  const seat = clean(ticket.seat);
  doc.setTitle(`Ticket ${ticket.ticketId}`, { showInWindowTitleBar: true });
  const ga = ticket.gaNumber ?? null;
  doc.setSubject(
    ga === null
      ? `${ticket.eventName}: section ${ticket.section}, row ${ticket.row}, seat ${ticket.seat}`
      : `${ticket.eventName}: general admission, section ${ticket.section}, no. ${ga}`,
  );
  doc.setKeywords([ticket.ticketId, "ticket"]);
  doc.setAuthor("Onsale");
  doc.setCreator("Onsale");
  doc.setProducer("Onsale");
  doc.setLanguage(locale);

  const page = doc.addPage([PAGE_WIDTH, PAGE_HEIGHT]);
  // Layout is written top-down, as the ticket is read; PDF's y axis points up.
  const y = (fromTop: number) => PAGE_HEIGHT - fromTop;
  const text = (value: string, x: number, fromTop: number, font: PDFFont, size: number, color: Color = INK) =>
    page.drawText(value, { x, y: y(fromTop), font, size, color });
  // Small tracked capitals; Tc is part of the graphics state, so q/Q scopes it to the label.
  const label = (value: string, x: number, fromTop: number, color: Color = MUTED, size = 6.5) => {
    page.pushOperators(pushGraphicsState(), setCharacterSpacing(size * 0.14));
    page.drawText(value, { x, y: y(fromTop), font: bold, size, color });
    page.pushOperators(popGraphicsState());
  };
  const labelWidth = (value: string, size: number) =>
    bold.widthOfTextAtSize(value, size) + size * 0.14 * (value.length - 1);

  // Header band: brand, event, performers.
  page.drawRectangle({ x: 0, y: y(BAND_HEIGHT), width: PAGE_WIDTH, height: BAND_HEIGHT, color: BAND });
  page.drawRectangle({ x: 0, y: y(BAND_HEIGHT + 3), width: PAGE_WIDTH, height: 3, color: ACCENT });
  label("ONSALE", MARGIN, 22, WHITE, 8.5);
  label("ADMIT ONE", PAGE_WIDTH - MARGIN - labelWidth("ADMIT ONE", 7.5), 22, ACCENT, 7.5);
  // A name that fits on one line is set larger; the block is centred below the brand line.
  const nameSize = bold.widthOfTextAtSize(eventName, 20) <= CONTENT_WIDTH ? 20 : 16;
  const nameLines = wrap(eventName, bold, nameSize, CONTENT_WIDTH, 2);
  const performers = clean(ticket.performers.join(", "));
  const lineHeight = nameSize * 1.12;
  const blockHeight = nameSize * 0.72 + (nameLines.length - 1) * lineHeight + (performers ? 16 : 0);
  const firstBaseline = 30 + (BAND_HEIGHT - 30 - blockHeight) / 2 + nameSize * 0.72;
  nameLines.forEach((line, i) => {
    text(line, MARGIN, firstBaseline + i * lineHeight, bold, nameSize, WHITE);
  });
  if (performers) {
    const baseline = firstBaseline + (nameLines.length - 1) * lineHeight + 16;
    text(truncate(performers, regular, 9, CONTENT_WIDTH), MARGIN, baseline, regular, 9, BAND_TEXT);
  }

  // When and where, on the venue's wall clock.
  const date = new Intl.DateTimeFormat(locale, {
    timeZone: ticket.timeZone,
    weekday: "short",
    day: "numeric",
    month: "short",
    year: "numeric",
  }).format(ticket.startsAt);
  const time = new Intl.DateTimeFormat(locale, {
    timeZone: ticket.timeZone,
    hour: "numeric",
    minute: "2-digit",
    timeZoneName: "short",
  }).format(ticket.startsAt);
  const column2 = MARGIN + CONTENT_WIDTH * 0.58;
  label("DATE", MARGIN, 112);
  text(truncate(clean(date), bold, 11.5, column2 - MARGIN - 8), MARGIN, 126, bold, 11.5);
  label("TIME", column2, 112);
  text(truncate(clean(time), bold, 11.5, PAGE_WIDTH - MARGIN - column2), column2, 126, bold, 11.5);
  label("VENUE", MARGIN, 145);
  text(truncate(clean(ticket.venueName), bold, 11.5, CONTENT_WIDTH), MARGIN, 159, bold, 11.5);
  text(truncate(clean(ticket.venueCity), regular, 9, CONTENT_WIDTH), MARGIN, 171, regular, 9, MUTED);

  // Section, row, seat (or general admission and the number): the part an usher reads.
  const gap = 6;
  const boxWidth = (CONTENT_WIDTH - 2 * gap) / 3;
  const boxTop = 182;
  const boxHeight = 44;
  const boxes: [string, string][] =
    ga === null
      ? [
          ["SECTION", section],
          ["ROW", row],
          ["SEAT", seat],
        ]
      : [
          ["SECTION", section],
          ["ENTRY", "GA"],
          ["NO.", String(ga)],
        ];
  boxes.forEach(([name, value], i) => {
    const x = MARGIN + i * (boxWidth + gap);
    page.drawRectangle({ x, y: y(boxTop + boxHeight), width: boxWidth, height: boxHeight, color: PANEL });
    page.drawRectangle({ x, y: y(boxTop + boxHeight), width: 2.5, height: boxHeight, color: ACCENT });
    label(name, x + 10, boxTop + 13);
    const size = largestSizeThatFits(value, bold, 19, 9, boxWidth - 16);
    text(truncate(value, bold, size, boxWidth - 16), x + 10, boxTop + 35, bold, size);
  });

  // Tier and price.
  const price = formatPrice(ticket.priceCents, ticket.currency, locale, encodable);
  label("TIER", MARGIN, 243);
  text(truncate(clean(ticket.tierName), bold, 10.5, column2 - MARGIN - 8), MARGIN, 256, bold, 10.5);
  label("PRICE", column2, 243);
  text(truncate(clean(price), bold, 10.5, PAGE_WIDTH - MARGIN - column2), column2, 256, bold, 10.5);

  // Perforation, then the stub the gate scans.
  const perforation = 272;
  page.drawLine({
    start: { x: 0, y: y(perforation) },
    end: { x: PAGE_WIDTH, y: y(perforation) },
    thickness: 0.8,
    color: RULE,
    dashArray: [4, 3],
  });
  const qrSize = 118;
  const qrTop = perforation + 14;
  drawQrCode(page, ticket.barcode, MARGIN, y(qrTop), qrSize);
  const stubX = MARGIN + qrSize + 14;
  const stubWidth = PAGE_WIDTH - MARGIN - stubX;
  label("HOLDER", stubX, qrTop + 10);
  text(truncate(clean(ticket.holder), bold, 10.5, stubWidth), stubX, qrTop + 24, bold, 10.5);
  label("TICKET", stubX, qrTop + 44);
  text(truncate(ticket.ticketId, mono, 8, stubWidth), stubX, qrTop + 57, mono, 8);
  ["Scan this code at the gate.", "Each ticket admits one person", "once; copies will not get in."].forEach(
    (line, i) => {
      text(line, stubX, qrTop + 84 + i * 9, regular, 7, MUTED);
    },
  );

  return doc.save();
}
