"""DATEX II v2 parking: ParkingTablePublication, ParkingStatusPublication and MDM facilities.

Elements are matched by local name, so any namespace prefix (``ns2:``, ``ns3:``, none) works.
Parsing goes through defusedxml: a document type declaration or entity declaration (the
"billion laughs" bomb, external entities) is refused before anything is expanded.
DATEX II v2.3 Parking Publications Extension; MDM "ParkingFacilityTable" profile.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import defusedxml
import defusedxml.ElementTree as SafeET

from providers.base import AdapterInfo, FeedFormatError, ImportResult, ValidationReport
from providers.parking.hours import ALWAYS
from providers.parking.records import (
    AvailabilityRecord,
    FacilityRecord,
    normalise_status,
    normalise_trend,
    parse_datetime,
    parse_int,
    valid_coordinates,
)

XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
STATIC_PUBLICATIONS = ("parkingTablePublication", "parkingFacilityTablePublication")
STATUS_PUBLICATIONS = ("parkingStatusPublication", "parkingFacilityTableStatusPublication")

# DATEX II ``ParkingLayoutEnum`` / MDM ``parkingFacilityLayout`` → our kinds.
LAYOUT_KINDS = {"multistorey": "garage", "multilevel": "garage", "underground": "underground",
                "singlelevel": "surface_lot", "openspace": "surface_lot", "nested": "garage",
                "covered": "garage", "fieldparking": "surface_lot", "carports": "surface_lot",
                "garageboxes": "garage"}
# ``applicableForUser`` / ``personTypeForWhichSpacesAssigned`` → capacity categories.
USER_CATEGORIES = {"disabled": "disabled", "handicapped": "disabled", "women": "women",
                   "families": "family", "family": "family", "carsharing": "carsharing",
                   "electricvehicles": "ev_charging"}


def local(tag: str) -> str:
    """The local name of a (possibly namespaced) tag."""
    return tag.rsplit("}", 1)[-1]


def child(element: Element | None, *path: str) -> Element | None:
    """The first descendant along ``path`` of local names, or None."""
    for name in path:
        if element is None:
            return None
        element = next((c for c in element if local(c.tag) == name), None)
    return element


def text(element: Element | None, *path: str) -> str | None:
    """Stripped text at ``path``, or None when missing or empty."""
    found = child(element, *path)
    if found is None or found.text is None:
        return None
    return found.text.strip() or None


def descendants(element: Element, name: str) -> Iterator[Element]:
    """Every descendant with local name ``name``."""
    return (e for e in element.iter() if local(e.tag) == name)


def multilingual(element: Element | None) -> str | None:
    """The first value of a DATEX II ``MultilingualString``."""
    if element is None:
        return None
    for value in descendants(element, "value"):
        if value.text and value.text.strip():
            return value.text.strip()
    return None


def parse_xml(payload: bytes) -> Element:
    """Parse XML safely, turning every failure into a readable ``FeedFormatError``."""
    head = payload.lstrip()[:1]
    if head and head not in (b"<", b"\xef"):
        raise FeedFormatError("The payload is not XML (it does not start with '<').",
                              code="not_xml")
    try:
        return SafeET.fromstring(payload)
    except defusedxml.DefusedXmlException as exc:
        raise FeedFormatError(
            f"The XML was refused as unsafe: {type(exc).__name__} (document type or entity "
            "declarations, as used by XML bombs, are not allowed).", code="unsafe_xml"
        ) from None
    except ParseError as exc:
        raise FeedFormatError(f"The payload is not well-formed XML: {exc}.",
                              code="invalid_xml") from None


class Datex2Adapter:
    """DATEX II v2 parking tables and status publications."""

    info = AdapterInfo(format="datex2", kind="parking", realtime=False,
                       title="DATEX II v2 parking publications",
                       media_types=("application/xml", "text/xml"))

    def parse(self, payload: bytes, config: Mapping[str, Any]) -> ImportResult:
        """Read a parking table (static) or a parking status publication (real-time)."""
        root = parse_xml(payload)
        if local(root.tag) != "d2LogicalModel":
            raise FeedFormatError(f"Not a DATEX II document: the root element is "
                                  f"<{local(root.tag)}>, expected <d2LogicalModel>.",
                                  code="wrong_publication")
        report = ValidationReport()
        source = str(config.get("source") or "")
        for element in root.iter():
            name = local(element.tag)
            if name in STATIC_PUBLICATIONS:
                facilities = list(self._facilities(element, report, source))
                return ImportResult({"facilities": facilities}, report,
                                    meta={"realtime": False, "publication": name})
            if name in STATUS_PUBLICATIONS:
                readings = list(self._readings(element, root, report, source))
                return ImportResult({"availability": readings}, report,
                                    meta={"realtime": True, "publication": name})
        publication = child(root, "payloadPublication")
        kind = publication.get(XSI_TYPE, "?") if publication is not None else "none"
        generic = text(publication, "genericPublicationName") if publication is not None else None
        raise FeedFormatError(
            "The DATEX II document holds no parking publication (found payloadPublication "
            f"type {kind}{f', name {generic}' if generic else ''}); expected a "
            "ParkingTablePublication or ParkingStatusPublication.", code="wrong_publication")

    # --- static ---------------------------------------------------------------------------

    def _facilities(self, publication: Element, report: ValidationReport, source: str
                    ) -> Iterator[FacilityRecord]:
        for element in publication.iter():
            name = local(element.tag)
            if name == "parkingRecord":
                record = self._parking_record(element, report, source)
            elif name == "parkingFacility":
                record = self._mdm_facility(element, report, source)
            else:
                continue
            if record is not None:
                yield record

    def _parking_record(self, element: Element, report: ValidationReport, source: str
                        ) -> FacilityRecord | None:
        source_id = element.get("id")
        lat, lon = _point(child(element, "parkingLocation"))
        if not _usable(source_id, lat, lon, report, source):
            return None
        record_type = local(element.get(XSI_TYPE, "")).split(":")[-1]
        layout = (text(element, "parkingLayout") or "").lower()
        site_type = (text(element, "urbanParkingSiteType") or "").lower()
        kind = LAYOUT_KINDS.get(layout, "other")
        if site_type == "onstreetparking":
            kind = "on_street"
        if "parkandride" in (text(element, "parkingSiteType") or "").lower():
            kind = "park_and_ride"
        categories: dict[str, int] = {}
        capacity = parse_int(text(element, "parkingNumberOfSpaces"))
        for among in descendants(element, "assignedParkingAmongOthers"):
            user = (text(among, "applicableForUser") or "").lower()
            if user in USER_CATEGORIES and capacity is not None:
                # "among others": the site's spaces are usable by this group too.
                categories[USER_CATEGORIES[user]] = capacity
        return FacilityRecord(
            source_id=str(source_id), name=multilingual(child(element, "parkingName"))
            or str(source_id), lat=lat, lon=lon, kind=kind, capacity=capacity,  # type: ignore[arg-type]
            capacity_by_category=categories,
            description=multilingual(child(element, "parkingDescription")),
            opening_times=_opening_times(child(element, "openingTimes")),
            opening_hours=_opening_hours_text(child(element, "openingTimes")),
            attributes={"datex2_type": record_type, "layout": layout or None},
        )

    def _mdm_facility(self, element: Element, report: ValidationReport, source: str
                      ) -> FacilityRecord | None:
        source_id = element.get("id")
        location = child(element, "facilityLocation", "locationForDisplay")
        lat = _float(text(location, "latitude"))
        lon = _float(text(location, "longitude"))
        if not _usable(source_id, lat, lon, report, source):
            return None
        categories: dict[str, int] = {}
        for assigned in descendants(element, "descriptionOfAssignedParkingSpaces"):
            parent_count = None
            for candidate in element.iter():
                if assigned in list(candidate):
                    parent_count = parse_int(text(candidate, "numberOfAssignedParkingSpaces"))
                    break
            person = (text(assigned, "personTypeForWhichSpacesAssigned") or "").lower()
            fuel = (text(assigned, "characteristicsOfVehiclesForWhichSpacesAssigned",
                         "fuelType") or "").lower()
            category = USER_CATEGORIES.get(person) or ("ev_charging" if fuel in
                                                         {"battery", "electricity"} else None)
            if category and parent_count:
                categories[category] = categories.get(category, 0) + parent_count
        name = multilingual(child(element, "parkingFacilityName")) or str(source_id)
        layout = (text(element, "parkingFacilityLayout") or "").lower()
        kind = "park_and_ride" if name.replace(" ", "").upper().startswith("P+R") else \
            LAYOUT_KINDS.get(layout, "other")
        return FacilityRecord(
            source_id=str(source_id), name=name, lat=lat, lon=lon, kind=kind,  # type: ignore[arg-type]
            capacity=parse_int(text(element, "totalParkingCapacity")),
            capacity_by_category=categories, ev_charging=categories.get("ev_charging", 0) > 0,
            operator=text(element, "operator", "contactName") or text(element, "owner",
                                                                        "contactName"),
            attributes={"datex2_type": "parkingFacility", "layout": layout or None},
        )

    # --- status ---------------------------------------------------------------------------

    def _readings(self, publication: Element, root: Element, report: ValidationReport,
                  source: str) -> Iterator[AvailabilityRecord]:
        published = parse_datetime(text(child(root, "payloadPublication"), "publicationTime"))
        for element in publication.iter():
            name = local(element.tag)
            if name == "parkingRecordStatus":
                reference = child(element, "parkingRecordReference")
                observed = parse_datetime(text(element, "parkingStatusOriginTime"))
            elif name == "parkingFacilityStatus":
                reference = child(element, "parkingFacilityReference")
                observed = parse_datetime(text(element, "parkingFacilityStatusTime"))
            else:
                continue
            source_id = reference.get("id") if reference is not None else None
            observed = observed or published
            if not source_id or observed is None:
                report.error("missing_reference", "A status entry has no facility reference or "
                             "no time; it is skipped.", file=source, value=source_id)
                continue
            occupancy = child(element, "parkingOccupancy")
            free = parse_int(text(occupancy, "parkingNumberOfVacantSpaces")
                             or text(element, "totalNumberOfVacantParkingSpaces"))
            occupied = parse_int(text(occupancy, "parkingNumberOfOccupiedSpaces")
                                 or text(element, "totalNumberOfOccupiedParkingSpaces"))
            capacity = parse_int(text(occupancy, "parkingNumberOfSpacesOverride")
                                 or text(element, "totalParkingCapacityOverride"))
            opening = text(element, "parkingSiteOpeningStatus") or text(
                element, "parkingFacilityOpeningStatus")
            site = text(element, "parkingSiteStatus") or text(element, "parkingFacilityStatus")
            status = normalise_status(opening)
            if status in ("open", "unknown") and normalise_status(site) == "full":
                status = "full"
            elif status == "unknown" and free is not None:
                status = "full" if free == 0 else "open"
            if free is None and occupied is None:
                report.warning("no_occupancy", f"Status of {source_id!r} carries no vacant or "
                               "occupied count.", file=source, value=source_id)
            yield AvailabilityRecord(
                source_id=source_id, observed_at=observed, free=free, occupied=occupied,
                capacity=capacity, status=status,
                trend=normalise_trend(text(occupancy, "parkingOccupancyTrend")),
            )


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _point(location: Element | None) -> tuple[float | None, float | None]:
    if location is None:
        return None, None
    coordinates = next(descendants(location, "pointCoordinates"), None)
    if coordinates is None:
        coordinates = next(descendants(location, "locationForDisplay"), None)
    return _float(text(coordinates, "latitude")), _float(text(coordinates, "longitude"))


def _usable(source_id: str | None, lat: float | None, lon: float | None,
            report: ValidationReport, source: str) -> bool:
    if not source_id:
        report.error("missing_id", "A parking record has no id; it is skipped.", file=source)
        return False
    if not valid_coordinates(lat, lon):
        report.error("missing_coordinates", f"Record {source_id!r} has no usable WGS84 "
                     "coordinates; it is skipped.", file=source, value=source_id)
        return False
    return True


def _opening_times(element: Element | None) -> list[dict[str, Any]] | None:
    # DATEX II ``Validity`` → ``recurringTimePeriodOfDay`` (+ optional applicable days).
    if element is None:
        return None
    days_names = {"monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4,
                  "saturday": 5, "sunday": 6}
    spans: list[dict[str, Any]] = []
    for period in descendants(element, "validPeriod"):
        days = sorted({days_names[d.text.strip().lower()] for d in
                       descendants(period, "applicableDay")
                       if d.text and d.text.strip().lower() in days_names}) or list(range(7))
        for tod in descendants(period, "recurringTimePeriodOfDay"):
            start = (text(tod, "startTimeOfPeriod") or "00:00")[:5]
            end = (text(tod, "endTimeOfPeriod") or "00:00")[:5]
            if start == end:
                start, end = "00:00", "24:00"
            spans.append({"days": days, "start": start, "end": end})
    if not spans and text(element, "validity", "validityStatus") == "active":
        return [dict(ALWAYS[0])]
    return spans or None


def _opening_hours_text(element: Element | None) -> str | None:
    times = _opening_times(element)
    if times == ALWAYS:
        return "24/7"
    if not times:
        return None
    names = ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
    parts = []
    for span in times:
        days = span["days"]
        label = (f"{names[days[0]]}-{names[days[-1]]}" if days == list(range(days[0],
                 days[-1] + 1)) and len(days) > 1 else ",".join(names[d] for d in days))
        parts.append(f"{label} {span['start']}-{span['end']}")
    return "; ".join(parts)
