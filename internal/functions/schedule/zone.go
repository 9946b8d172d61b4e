package schedule

import (
	"fmt"
	"strings"
	"time"
	_ "time/tzdata" // zones resolve on hosts without a zone database
)

// windowsZones maps the Windows time zone names Azure accepts in WEBSITE_TIME_ZONE to IANA names, following the
// Unicode CLDR "windowsZones" mapping for the zone's main territory. Keys are lower case.
var windowsZones = map[string]string{
	"dateline standard time":          "Etc/GMT+12",
	"utc-11":                          "Etc/GMT+11",
	"hawaiian standard time":          "Pacific/Honolulu",
	"alaskan standard time":           "America/Anchorage",
	"pacific standard time (mexico)":  "America/Tijuana",
	"pacific standard time":           "America/Los_Angeles",
	"us mountain standard time":       "America/Phoenix",
	"mountain standard time (mexico)": "America/Mazatlan",
	"mountain standard time":          "America/Denver",
	"central america standard time":   "America/Guatemala",
	"central standard time":           "America/Chicago",
	"central standard time (mexico)":  "America/Mexico_City",
	"canada central standard time":    "America/Regina",
	"sa pacific standard time":        "America/Bogota",
	"eastern standard time (mexico)":  "America/Cancun",
	"eastern standard time":           "America/New_York",
	"us eastern standard time":        "America/Indiana/Indianapolis",
	"cuba standard time":              "America/Havana",
	"venezuela standard time":         "America/Caracas",
	"paraguay standard time":          "America/Asuncion",
	"atlantic standard time":          "America/Halifax",
	"sa western standard time":        "America/La_Paz",
	"pacific sa standard time":        "America/Santiago",
	"newfoundland standard time":      "America/St_Johns",
	"e. south america standard time":  "America/Sao_Paulo",
	"argentina standard time":         "America/Argentina/Buenos_Aires",
	"sa eastern standard time":        "America/Cayenne",
	"montevideo standard time":        "America/Montevideo",
	"utc-02":                          "Etc/GMT+2",
	"azores standard time":            "Atlantic/Azores",
	"cape verde standard time":        "Atlantic/Cape_Verde",
	"utc":                             "UTC",
	"gmt standard time":               "Europe/London",
	"greenwich standard time":         "Atlantic/Reykjavik",
	"morocco standard time":           "Africa/Casablanca",
	"w. europe standard time":         "Europe/Berlin",
	"central europe standard time":    "Europe/Budapest",
	"romance standard time":           "Europe/Paris",
	"central european standard time":  "Europe/Warsaw",
	"w. central africa standard time": "Africa/Lagos",
	"gtb standard time":               "Europe/Bucharest",
	"e. europe standard time":         "Europe/Chisinau",
	"fle standard time":               "Europe/Kiev",
	"kaliningrad standard time":       "Europe/Kaliningrad",
	"israel standard time":            "Asia/Jerusalem",
	"egypt standard time":             "Africa/Cairo",
	"south africa standard time":      "Africa/Johannesburg",
	"namibia standard time":           "Africa/Windhoek",
	"jordan standard time":            "Asia/Amman",
	"middle east standard time":       "Asia/Beirut",
	"syria standard time":             "Asia/Damascus",
	"turkey standard time":            "Europe/Istanbul",
	"belarus standard time":           "Europe/Minsk",
	"russian standard time":           "Europe/Moscow",
	"arab standard time":              "Asia/Riyadh",
	"e. africa standard time":         "Africa/Nairobi",
	"iran standard time":              "Asia/Tehran",
	"arabian standard time":           "Asia/Dubai",
	"azerbaijan standard time":        "Asia/Baku",
	"georgian standard time":          "Asia/Tbilisi",
	"caucasus standard time":          "Asia/Yerevan",
	"afghanistan standard time":       "Asia/Kabul",
	"ekaterinburg standard time":      "Asia/Yekaterinburg",
	"pakistan standard time":          "Asia/Karachi",
	"west asia standard time":         "Asia/Tashkent",
	"india standard time":             "Asia/Kolkata",
	"sri lanka standard time":         "Asia/Colombo",
	"nepal standard time":             "Asia/Kathmandu",
	"bangladesh standard time":        "Asia/Dhaka",
	"myanmar standard time":           "Asia/Yangon",
	"se asia standard time":           "Asia/Bangkok",
	"north asia standard time":        "Asia/Krasnoyarsk",
	"china standard time":             "Asia/Shanghai",
	"north asia east standard time":   "Asia/Irkutsk",
	"singapore standard time":         "Asia/Singapore",
	"w. australia standard time":      "Australia/Perth",
	"taipei standard time":            "Asia/Taipei",
	"tokyo standard time":             "Asia/Tokyo",
	"korea standard time":             "Asia/Seoul",
	"yakutsk standard time":           "Asia/Yakutsk",
	"cen. australia standard time":    "Australia/Adelaide",
	"aus central standard time":       "Australia/Darwin",
	"e. australia standard time":      "Australia/Brisbane",
	"aus eastern standard time":       "Australia/Sydney",
	"tasmania standard time":          "Australia/Hobart",
	"vladivostok standard time":       "Asia/Vladivostok",
	"utc+12":                          "Etc/GMT-12",
	"new zealand standard time":       "Pacific/Auckland",
	"fiji standard time":              "Pacific/Fiji",
	"tonga standard time":             "Pacific/Tongatapu",
	"samoa standard time":             "Pacific/Apia",
	"line islands standard time":      "Pacific/Kiritimati",
}

// IANAName returns the IANA name of a Windows time zone name (any case), e.g. "Europe/Berlin" for
// "W. Europe Standard Time".
func IANAName(windows string) (string, bool) {
	n, ok := windowsZones[strings.ToLower(strings.TrimSpace(windows))]
	return n, ok
}

// LoadZone returns the time zone WEBSITE_TIME_ZONE names: "" is UTC; otherwise an IANA name ("America/New_York")
// or a Windows time zone name ("Eastern Standard Time"), in any case.
func LoadZone(name string) (*time.Location, error) {
	n := strings.TrimSpace(name)
	if n == "" {
		return time.UTC, nil
	}
	if iana, ok := IANAName(n); ok {
		return time.LoadLocation(iana)
	}
	if strings.EqualFold(n, "UTC") || strings.EqualFold(n, "GMT") {
		return time.UTC, nil
	}
	if n != "Local" && !strings.ContainsAny(n, " ") && !strings.HasPrefix(n, "/") && !strings.Contains(n, "..") {
		if loc, err := time.LoadLocation(n); err == nil {
			return loc, nil
		}
	}
	return nil, fmt.Errorf("time zone %q is unknown: use an IANA name such as \"Europe/Berlin\" or a Windows name such as \"W. Europe Standard Time\"", name)
}
